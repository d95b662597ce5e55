/**
 * Everything the platform runs in one GCP region: the key, the event bucket, the event topic, the ingest
 * function behind the load balancer (its serverless NEG), and the writer that a push subscription feeds
 * with the topic's messages, stored by account and day. See docs/architecture.md.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import {
  ingestEnvSchema,
  ingestLimitEnvironment,
  names,
  REGIONS,
  writerEnvSchema,
  type IngestLimitConfig,
  type Location,
  type Stage,
} from '../../../platform';
import type { BundleSource } from '../bundles';
import type { Directory } from './directory';
import { EventStore } from './event-store';
import { EventTopic } from './event-topic';
import type { RegionalKey } from './regional-key';
import { INTERNAL_INGRESS, LB_INGRESS, ServiceFunction, type FunctionSite } from './service-function';
import type { StageStorage } from './stage-storage';

/** Properties of a {@link RegionalPlatform}. */
export interface RegionalPlatformProps {
  /** GCP project that hosts the stage. */
  readonly project: string;
  /** The stage, for names. */
  readonly stage: Stage;
  /** The location; its GCP region comes from the platform's `REGIONS`. */
  readonly location: Location;
  /** The region's key, already granted to the service agents (see `ServiceAgents`). */
  readonly key: RegionalKey;
  /** Pub/Sub's service agent, which dead-letters the writer's undeliverable messages. */
  readonly pubsubAgent: pulumi.Input<string>;
  /** The directory the functions read and write. */
  readonly directory: Directory;
  /** The stage's buckets and build account. */
  readonly storage: StageStorage;
  /** Builds the functions' bundles. */
  readonly bundles: BundleSource;
  /** Memory of the ingest function, in MiB. */
  readonly ingestMemoryMb: number;
  /** Most instances of the ingest function. */
  readonly ingestMaxInstances: number;
  /**
   * The ingest function's rate limits and key-status cache TTL, passed as `TS_IP_RATE_PER_SECOND` and its
   * siblings.
   * @default - the service's own defaults (today's `LIMITS`)
   */
  readonly ingestLimits?: IngestLimitConfig;
}

/** Pub/Sub's retry of a push the writer refused: its group commit waits up to a second before answering. */
const PUSH_ACK_DEADLINE_SECONDS = 60;
/** Deliveries of one message before it goes to the dead-letter topic. */
const MAX_DELIVERY_ATTEMPTS = 10;

/** One location's key, bucket, topics and functions. */
export class RegionalPlatform extends pulumi.ComponentResource {
  /** The GCP region, e.g. `europe-west1`. */
  public readonly region: string;
  /** The region's key (CMEK of everything below, and the wrapping key of the services' data keys). */
  public readonly key: RegionalKey;
  /** The event bucket. */
  public readonly store: EventStore;
  /** The event topic and its dead-letter topic. */
  public readonly events: EventTopic;
  /** The Artifact Registry repository the functions' builds push to (CMEK). */
  public readonly repository: gcp.artifactregistry.Repository;
  /** The ingest service. */
  public readonly ingest: ServiceFunction;
  /** The writer. */
  public readonly writer: ServiceFunction;
  /** The push subscription from the event topic to the writer. */
  public readonly subscription: gcp.pubsub.Subscription;
  /** The serverless NEG through which the load balancer reaches the ingest function. */
  public readonly neg: gcp.compute.RegionNetworkEndpointGroup;

  constructor(name: string, props: RegionalPlatformProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:RegionalPlatform', name, {}, opts);
    const { project, stage, location } = props;
    this.region = REGIONS[location].gcp;
    const where = { project, stage, location, region: this.region };
    this.key = props.key;
    this.store = new EventStore(`${name}-store`, { ...where, key: this.key }, { parent: this });
    this.events = new EventTopic(`${name}-events`, { ...where, key: this.key }, { parent: this });
    this.repository = new gcp.artifactregistry.Repository(
      `${name}-functions`,
      {
        project,
        location: this.region,
        repositoryId: `${stage}-functions`,
        format: 'DOCKER',
        description: 'Images of the Trackstack functions, built by Cloud Build from the uploaded sources.',
        kmsKeyName: this.key.key.id,
        cleanupPolicies: [{ id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: 5 } }],
      },
      { parent: this, dependsOn: this.key.agentGrants },
    );
    new gcp.artifactregistry.RepositoryIamMember(
      `${name}-build-pushes`,
      {
        project,
        location: this.region,
        repository: this.repository.repositoryId,
        role: 'roles/artifactregistry.writer',
        member: pulumi.interpolate`serviceAccount:${props.storage.buildAccount.email}`,
      },
      { parent: this },
    );
    const site: FunctionSite = {
      project,
      region: this.region,
      key: this.key,
      storage: props.storage,
      repository: this.repository,
      bundles: props.bundles,
    };
    this.ingest = new ServiceFunction(
      `${name}-ingest`,
      {
        site,
        functionName: names.gcpIngestFunction(stage, location),
        accountId: names.gcpServiceAccount(stage, 'ingest', location),
        bundle: 'ingest-gcp',
        description: `Trackstack ingest (${location})`,
        environmentSchema: ingestEnvSchema,
        environment: {
          TS_STAGE: stage,
          TS_LOCATION: location,
          TS_SINK: 'pubsub',
          TS_PUBSUB_TOPIC: this.events.topic.name,
          TS_GCP_PROJECT: project,
          TS_KEY_PROVIDER: 'cloudkms',
          TS_CLOUD_KMS_KEY: this.key.key.id,
          TS_DIRECTORY: 'firestore',
          TS_FIRESTORE_DATABASE: names.gcpDirectoryDatabase(stage),
          TS_TRUST_PROXY: 'google-lb',
          TS_METRICS_EMF: 'false',
          ...(props.ingestLimits && ingestLimitEnvironment(props.ingestLimits)),
        },
        ingress: LB_INGRESS,
        memoryMb: props.ingestMemoryMb,
        maxInstances: props.ingestMaxInstances,
        timeoutSeconds: 30,
      },
      { parent: this },
    );
    this.key.grantEncryptDecrypt(`${name}-ingest-key`, this.ingest.member);
    // Reads accounts and keys; writes wrapped data keys and de-duplication claims.
    props.directory.grantReadWrite(`${name}-ingest-directory`, this.ingest.member);
    new gcp.pubsub.TopicIAMMember(
      `${name}-ingest-publishes`,
      { project, topic: this.events.topic.name, role: 'roles/pubsub.publisher', member: this.ingest.member },
      { parent: this },
    );
    // The serverless NEG calls the function without credentials; the ingress keeps its URL closed to all
    // but the load balancer, which the policy pack checks goes with this grant.
    this.ingest.grantInvoke(`${name}-ingest-lb-invoker`, 'allUsers');

    const subscriptionName = names.gcpEventSubscription(stage, location);
    this.writer = new ServiceFunction(
      `${name}-writer`,
      {
        site,
        functionName: names.gcpWriterFunction(stage, location),
        accountId: names.gcpServiceAccount(stage, 'writer', location),
        bundle: 'writer-gcp',
        description: `Trackstack writer (${location}): events from Pub/Sub to the event bucket`,
        environmentSchema: writerEnvSchema,
        environment: {
          TS_STAGE: stage,
          TS_LOCATION: location,
          TS_OBJECT_STORE: 'gcs',
          TS_EVENT_BUCKET: this.store.eventBucket.name,
          TS_EVENT_SUBSCRIPTION: `projects/${project}/subscriptions/${subscriptionName}`,
        },
        ingress: INTERNAL_INGRESS,
        memoryMb: 512,
        maxInstances: 20,
        // The group commit needs many pushes in hand at once on one instance.
        concurrency: 250,
        timeoutSeconds: 30,
      },
      { parent: this },
    );
    new gcp.storage.BucketIAMMember(
      `${name}-writer-creates`,
      {
        bucket: this.store.eventBucket.name,
        role: 'roles/storage.objectCreator',
        member: this.writer.member,
      },
      { parent: this },
    );
    const pusher = new gcp.serviceaccount.Account(
      `${name}-push`,
      {
        project,
        accountId: names.gcpServiceAccount(stage, 'push', location),
        displayName: `Pub/Sub push to the ${location} writer`,
      },
      { parent: this },
    );
    const pusherMember = pulumi.interpolate`serviceAccount:${pusher.email}`;
    this.writer.grantInvoke(`${name}-push-invokes-writer`, pusherMember);
    this.subscription = new gcp.pubsub.Subscription(
      `${name}-writer-subscription`,
      {
        project,
        name: subscriptionName,
        topic: this.events.topic.id,
        ackDeadlineSeconds: PUSH_ACK_DEADLINE_SECONDS,
        messageRetentionDuration: '604800s',
        pushConfig: {
          pushEndpoint: this.writer.fn.url,
          oidcToken: { serviceAccountEmail: pusher.email, audience: this.writer.fn.url },
        },
        retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
        deadLetterPolicy: {
          deadLetterTopic: this.events.deadLetterTopic.id,
          maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS,
        },
        expirationPolicy: { ttl: '' },
      },
      { parent: this },
    );
    // Dead-lettering needs Pub/Sub's agent to publish to the dead-letter topic and to acknowledge here.
    new gcp.pubsub.TopicIAMMember(
      `${name}-agent-dead-letters`,
      {
        project,
        topic: this.events.deadLetterTopic.name,
        role: 'roles/pubsub.publisher',
        member: props.pubsubAgent,
      },
      { parent: this },
    );
    new gcp.pubsub.SubscriptionIAMMember(
      `${name}-agent-acks`,
      {
        project,
        subscription: this.subscription.name,
        role: 'roles/pubsub.subscriber',
        member: props.pubsubAgent,
      },
      { parent: this },
    );
    // Keeps dead-lettered messages (a topic alone keeps nothing) until an operator replays them.
    new gcp.pubsub.Subscription(
      `${name}-dead-letter-hold`,
      {
        project,
        name: `${names.gcpDeadLetterTopic(stage, location)}-hold`,
        topic: this.events.deadLetterTopic.id,
        messageRetentionDuration: '604800s',
        expirationPolicy: { ttl: '' },
      },
      { parent: this },
    );
    this.neg = new gcp.compute.RegionNetworkEndpointGroup(
      `${name}-neg`,
      {
        project,
        region: this.region,
        name: `${names.gcpIngestFunction(stage, location)}-neg`,
        networkEndpointType: 'SERVERLESS',
        cloudFunction: { function: this.ingest.fn.name },
      },
      { parent: this },
    );
    this.registerOutputs({ region: this.region, keyId: this.key.key.id, ingestUri: this.ingest.fn.url });
  }
}
