/**
 * The regional Pub/Sub path of events: the topic the ingest function publishes to and the dead-letter
 * topic that a later slice's writer subscription sends undeliverable messages to. Both encrypted with the
 * region's key and kept in its region.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { names, type Location, type Stage } from '../../../platform';
import type { RegionalKey } from './regional-key';

/** Properties of an {@link EventTopic}. */
export interface EventTopicProps {
  /** GCP project that holds the topics. */
  readonly project: string;
  /** The stage, for names. */
  readonly stage: Stage;
  /** The location the topics serve. */
  readonly location: Location;
  /** The GCP region where messages may be stored (residency: only this one). */
  readonly region: string;
  /** The region's key; the topics are created only once its Pub/Sub agent may use it. */
  readonly key: RegionalKey;
}

/** The event topic and its dead-letter topic of one region. */
export class EventTopic extends pulumi.ComponentResource {
  /** Events as the ingest function publishes them. */
  public readonly topic: gcp.pubsub.Topic;
  /** Messages the writer could not store after its retries. */
  public readonly deadLetterTopic: gcp.pubsub.Topic;

  constructor(name: string, props: EventTopicProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:EventTopic', name, {}, opts);
    const common = {
      project: props.project,
      kmsKeyName: props.key.key.id,
      // Pub/Sub may otherwise store messages in any region near the publisher.
      messageStoragePolicy: { allowedPersistenceRegions: [props.region], enforceInTransit: true },
    } satisfies Partial<gcp.pubsub.TopicArgs>;
    // Pub/Sub refuses a CMEK topic whose agent cannot use the key yet.
    const childOpts = { parent: this, dependsOn: props.key.agentGrants };
    this.topic = new gcp.pubsub.Topic(
      `${name}-events`,
      { ...common, name: names.gcpEventTopic(props.stage, props.location) },
      childOpts,
    );
    this.deadLetterTopic = new gcp.pubsub.Topic(
      `${name}-dead-letter`,
      { ...common, name: names.gcpDeadLetterTopic(props.stage, props.location) },
      childOpts,
    );
    this.registerOutputs({ topic: this.topic.name, deadLetterTopic: this.deadLetterTopic.name });
  }
}
