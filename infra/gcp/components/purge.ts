/**
 * The purge job on GCP: one function in the primary location's region that purges every region (the
 * existing core with the Cloud Storage, Firestore and locked-bucket receipt adapters), called daily by
 * Cloud Scheduler with an OIDC token of its own account. A failed run answers 500 and Scheduler retries
 * it (runs are idempotent and resumable); what still fails is logged, counted by a log-based metric and
 * alerted on (see `Monitoring`), and the next day's run takes it up again.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import {
  eventBucketVariable,
  names,
  PRIMARY_LOCATION,
  purgeEnvSchema,
  type Location,
  type Stage,
} from '../../../platform';
import type { Directory } from './directory';
import { INTERNAL_INGRESS, ServiceFunction, type FunctionSite } from './service-function';
import type { StageStorage } from './stage-storage';

/** Properties of the {@link PurgeJob}. */
export interface PurgeJobProps {
  readonly project: string;
  readonly stage: Stage;
  /** Where the function runs (the primary location's region). */
  readonly site: FunctionSite;
  /** Every location's event bucket. */
  readonly eventBuckets: Readonly<Partial<Record<Location, gcp.storage.Bucket>>>;
  /** The config and receipts buckets. */
  readonly storage: StageStorage;
  /** The directory. */
  readonly directory: Directory;
}

/** Longest one run works before it stops and leaves the rest to the next; the function's timeout is above. */
const TIME_BUDGET_SECONDS = 1500;

/** The purge function and its schedule. */
export class PurgeJob extends pulumi.ComponentResource {
  /** The function. */
  public readonly fn: ServiceFunction;
  /** The daily trigger. */
  public readonly schedule: gcp.cloudscheduler.Job;

  constructor(name: string, props: PurgeJobProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:PurgeJob', name, {}, opts);
    const { project, stage } = props;
    const locations = Object.keys(props.eventBuckets) as Location[];
    const buckets: Record<string, pulumi.Input<string>> = {};
    for (const l of locations) {
      const bucket = props.eventBuckets[l];
      if (bucket) buckets[eventBucketVariable(l)] = bucket.name;
    }
    this.fn = new ServiceFunction(
      `${name}-fn`,
      {
        site: props.site,
        functionName: names.gcpPurgeFunction(stage),
        accountId: names.gcpServiceAccount(stage, 'purge'),
        bundle: 'purge-gcp',
        description: 'Trackstack purge: expired accounts deleted between day 45 and day 90',
        environmentSchema: purgeEnvSchema,
        environment: {
          TS_STAGE: stage,
          TS_LOCATION: PRIMARY_LOCATION,
          TS_LOCATIONS: locations.join(','),
          TS_DIRECTORY: 'firestore',
          TS_GCP_PROJECT: project,
          TS_FIRESTORE_DATABASE: names.gcpDirectoryDatabase(stage),
          TS_OBJECT_STORE: 'gcs',
          ...buckets,
          TS_CONFIG_BUCKET: props.storage.configBucket.name,
          TS_RECEIPT_STORE: 'gcs',
          TS_RECEIPTS_BUCKET: props.storage.receiptsBucket.name,
          TS_TIME_BUDGET_SECONDS: String(TIME_BUDGET_SECONDS),
        },
        ingress: INTERNAL_INGRESS,
        memoryMb: 512,
        maxInstances: 1,
        concurrency: 1,
        timeoutSeconds: TIME_BUDGET_SECONDS + 300,
      },
      { parent: this },
    );
    const purger = this.fn.member;
    props.directory.grantReadWrite(`${name}-directory`, purger);
    // Lists and deletes object generations; no IAM or bucket administration.
    for (const l of locations) {
      const bucket = props.eventBuckets[l];
      if (bucket)
        new gcp.storage.BucketIAMMember(
          `${name}-events-${l}`,
          { bucket: bucket.name, role: 'roles/storage.objectUser', member: purger },
          { parent: this },
        );
    }
    new gcp.storage.BucketIAMMember(
      `${name}-config`,
      { bucket: props.storage.configBucket.name, role: 'roles/storage.objectUser', member: purger },
      { parent: this },
    );
    // Receipts: create and read, never delete (the locked retention forbids it anyway).
    for (const role of ['roles/storage.objectCreator', 'roles/storage.objectViewer'])
      new gcp.storage.BucketIAMMember(
        `${name}-receipts-${role.split('.')[1] ?? role}`,
        { bucket: props.storage.receiptsBucket.name, role, member: purger },
        { parent: this },
      );
    const scheduler = new gcp.serviceaccount.Account(
      `${name}-scheduler`,
      {
        project,
        accountId: names.gcpServiceAccount(stage, 'purge-trigger'),
        displayName: 'Calls the Trackstack purge daily',
      },
      { parent: this },
    );
    this.fn.grantInvoke(`${name}-scheduler-invokes`, pulumi.interpolate`serviceAccount:${scheduler.email}`);
    this.schedule = new gcp.cloudscheduler.Job(
      `${name}-daily`,
      {
        project,
        region: props.site.region,
        name: names.gcpPurgeFunction(stage),
        description: 'Daily purge run',
        schedule: '17 3 * * *',
        timeZone: 'Etc/UTC',
        // Scheduler waits at most 30 minutes for an HTTP target; a longer run goes on regardless.
        attemptDeadline: '1800s',
        retryConfig: { retryCount: 3, minBackoffDuration: '600s', maxBackoffDuration: '3600s' },
        httpTarget: {
          uri: this.fn.fn.url,
          httpMethod: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: Buffer.from('{}').toString('base64'),
          oidcToken: { serviceAccountEmail: scheduler.email, audience: this.fn.fn.url },
        },
      },
      { parent: this },
    );
    this.registerOutputs({ uri: this.fn.fn.url });
  }
}
