/**
 * The regional Cloud Storage of the platform: the event bucket (objects under `account=<id>/dt=<day>/`,
 * which the purge deletes by account), private, encrypted with the region's key, versioned, and cleaned of
 * old versions within the platform's retention promise. (The config bucket is stage-wide: `StageStorage`.)
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { names, type Location, type Stage } from '../../../platform';
import { privateBucketArgs, VERSIONED_BUCKET_ARGS } from './bucket-args';
import type { RegionalKey } from './regional-key';

/** Properties of an {@link EventStore}. */
export interface EventStoreProps {
  /** GCP project that holds the buckets (its id makes their global names unique). */
  readonly project: string;
  /** The stage, for names. */
  readonly stage: Stage;
  /** The location the buckets serve. */
  readonly location: Location;
  /** The GCP region of the buckets (single-region: the data stays in its location). */
  readonly region: string;
  /** The region's key; the buckets are created only once its Cloud Storage agent may use it. */
  readonly key: RegionalKey;
}

/** The event bucket of one region. */
export class EventStore extends pulumi.ComponentResource {
  /** Events, partitioned by account and day. */
  public readonly eventBucket: gcp.storage.Bucket;

  constructor(name: string, props: EventStoreProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:EventStore', name, {}, opts);
    const common = { ...privateBucketArgs(props.project, props.region, props.key), ...VERSIONED_BUCKET_ARGS };
    // GCS checks at creation that its agent can use the key: without the grant the bucket fails to create.
    this.eventBucket = new gcp.storage.Bucket(
      `${name}-events`,
      { ...common, name: names.gcpEventBucket(props.stage, props.location, props.project) },
      { parent: this, dependsOn: props.key.agentGrants },
    );
    this.registerOutputs({ eventBucket: this.eventBucket.name });
  }
}
