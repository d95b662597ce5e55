/**
 * The regional stack: everything one location needs to take hits and store events.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import {
  type Location,
  LOCATIONS,
  names,
  PRIMARY_LOCATION,
  REGIONS,
  RETENTION,
  type StageConfig,
} from '../../../platform';
import { AlarmTopic } from './constructs/alarm-topic';
import { DirectoryTable, type IDirectoryTable } from './constructs/directory-table';
import { EventStore } from './constructs/event-store';
import { EventStream } from './constructs/event-stream';
import { IngestAlarms } from './constructs/ingest-alarms';
import { IngestService } from './constructs/ingest-service';
import { PermissionsBoundary } from './constructs/permissions-boundary';
import { PurgeAlarms } from './constructs/purge-alarms';
import { type IPurgeReceipts, PurgeReceipts } from './constructs/purge-receipts';
import { PurgeService } from './constructs/purge-service';
import { RegionalKey } from './constructs/regional-key';
import { KeyAnomalyDetection } from './constructs/security/key-anomaly-detection';
import { awsNames } from './naming';

/** Properties of {@link RegionalStack}. */
export interface RegionalStackProps extends StackProps {
  /** The validated configuration of the stage. */
  readonly config: StageConfig;
  /** The location this stack serves; its region must be the location's AWS region. */
  readonly location: Location;
  /**
   * The location whose stack creates the directory table; every other location holds a replica.
   * When it is this stack's location, the table is created here with a replica in each of
   * `replicaLocations`, and this stack must be deployed after theirs (see `addDependency`).
   */
  readonly directoryHome: Location;
  /**
   * Locations that hold a replica of the directory table (only read when this stack is the home).
   * @default - none
   */
  readonly replicaLocations?: readonly Location[];
  /**
   * Accounts whose events must stay in one location (data residency), by account id; the ingest function
   * refuses their hits in any other location.
   * @default - none
   */
  readonly homeLocations?: Readonly<Record<string, Location>>;
}

/**
 * One location of a stage: the regional key, the event store and stream, the directory (the table itself
 * in the home location, a replica elsewhere), the ingest service behind its origin endpoint, the daily purge
 * job (and, in the home location, its receipts bucket), alarms, and a permissions boundary on every role.
 */
export class RegionalStack extends Stack {
  /** The location this stack serves. */
  public readonly location: Location;
  /** The regional key. */
  public readonly key: RegionalKey;
  /** The event bucket and its access log bucket. */
  public readonly eventStore: EventStore;
  /**
   * The Firehose streams into the event bucket (the stage's `eventStreams`), in stream-index order: an
   * account's events take `eventStreams[eventStreamIndex(accountId, eventStreams.length)]`.
   */
  public readonly eventStreams: readonly EventStream[];
  /** The directory table: the global table in the home location, a reference to the replica elsewhere. */
  public readonly directoryTable: IDirectoryTable;
  /** The global table construct, in the home location's stack only. */
  public readonly directory?: DirectoryTable;
  /** The ingest function and its Function URL, which only CloudFront distributions of the account may call. */
  public readonly ingest: IngestService;
  /** The topic every alarm of the stack notifies. */
  public readonly alarmTopic: AlarmTopic;
  /** The ingest path's alarms. */
  public readonly alarms: IngestAlarms;
  /** The permissions boundary of every role of the stack. */
  public readonly permissionsBoundary: PermissionsBoundary;
  /** The purge receipts bucket, in the directory home's stack only. */
  public readonly purgeReceipts?: PurgeReceipts;
  /** The purge function, its daily schedule and dead-letter queue. */
  public readonly purge: PurgeService;
  /** The purge job's alarms. */
  public readonly purgeAlarms: PurgeAlarms;
  /** Per-API-key detection on the ingest logs, routed to the security stack's region (and GuardDuty). */
  public readonly keyAnomalies: KeyAnomalyDetection;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id, props);
    const { config, location } = props;
    const { stage } = config;
    if (this.region !== REGIONS[location].aws) {
      throw new Error(`[${this.node.path}] env.region must be ${REGIONS[location].aws} for ${location}`);
    }
    this.location = location;
    // The CDN's config bucket (edge stack): the directory home's purge job deletes purged accounts' configs.
    const configBucketName = names.configBucket(stage, this.account);

    this.permissionsBoundary = new PermissionsBoundary(this, 'PermissionsBoundary', {
      stage,
      location,
      eventStreams: config.eventStreams,
      locations: config.locations,
      receiptsLocation: props.directoryHome,
      configBucketName: location === props.directoryHome ? configBucketName : undefined,
      securityRegion: REGIONS[PRIMARY_LOCATION].aws,
    });
    iam.PermissionsBoundary.of(this).apply(this.permissionsBoundary.policy);

    this.key = new RegionalKey(this, 'Key', { aliasName: names.keyAlias(stage, location) });
    const encryptionKey = this.key.key;

    this.eventStore = new EventStore(this, 'EventStore', {
      encryptionKey,
      // Named, so that the purge job of every location can address it.
      bucketName: names.eventBucket(stage, location, this.account),
    });
    this.eventStreams = this.addEventStreams(config, encryptionKey);

    const tableName = names.directoryTable(stage);
    if (location === props.directoryHome) {
      const replicaKeyArns: Record<string, string> = {};
      for (const replica of props.replicaLocations ?? []) {
        replicaKeyArns[REGIONS[replica].aws] = this.formatArn({
          service: 'kms',
          region: REGIONS[replica].aws,
          resource: 'alias',
          resourceName: names.keyAlias(stage, replica),
        });
      }
      this.directory = new DirectoryTable(this, 'Directory', {
        tableName,
        encryptionKey,
        replicaKeyArns,
        recoveryPeriodInDays: config.directoryRecoveryDays,
      });
      this.directoryTable = this.directory;
    } else {
      this.directoryTable = DirectoryTable.fromTableName(this, 'Directory', tableName);
    }

    this.ingest = new IngestService(this, 'Ingest', {
      stage,
      location,
      encryptionKey,
      eventStreams: this.eventStreams,
      directoryTable: this.directoryTable,
      homeLocations: props.homeLocations,
      logGroupName: awsNames.logGroup(stage, location, 'ingest'),
      logRetentionDays: config.logRetentionDays,
      memorySize: config.ingestMemoryMb,
      reservedConcurrentExecutions: config.ingestReservedConcurrency,
      limits: config,
    });

    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      encryptionKey,
      email: config.alarmEmail,
      displayName: `Trackstack ${stage} ${location} alarms`,
    });
    this.alarms = new IngestAlarms(this, 'Alarms', {
      topic: this.alarmTopic.topic,
      ingest: this.ingest,
      eventStreams: this.eventStreams,
      activePartitionQuota: config.firehoseActivePartitionQuota,
    });
    this.keyAnomalies = new KeyAnomalyDetection(this, 'KeyAnomalies', {
      stage,
      location,
      ingestLogGroup: this.ingest.function.logGroup,
      alarmTopic: this.alarmTopic.topic,
      securityRegion: REGIONS[PRIMARY_LOCATION].aws,
      guardDuty: config.guardDuty,
    });

    // The purge job (the README's AWS section): receipts go to one bucket beside the directory table.
    const receiptRetentionDays = RETENTION.receiptRetentionDays;
    const receiptsBucketName = names.purgeReceiptsBucket(stage, this.account);
    let receipts: IPurgeReceipts;
    if (location === props.directoryHome) {
      this.purgeReceipts = new PurgeReceipts(this, 'PurgeReceipts', {
        bucketName: receiptsBucketName,
        encryptionKey,
        accessLogBucket: this.eventStore.accessLogBucket,
        retentionDays: receiptRetentionDays,
      });
      receipts = this.purgeReceipts;
    } else {
      receipts = PurgeReceipts.fromBucketName(this, 'PurgeReceipts', {
        bucketName: receiptsBucketName,
        region: REGIONS[props.directoryHome].aws,
        keyAlias: `alias/${names.keyAlias(stage, props.directoryHome)}`,
      });
    }
    this.purge = new PurgeService(this, 'Purge', {
      stage,
      location,
      locations: config.locations,
      encryptionKey,
      directoryTable: this.directoryTable,
      receipts,
      receiptRetentionDays,
      schedule: purgeSchedule(location),
      logGroupName: awsNames.logGroup(stage, location, 'purge'),
      logRetentionDays: config.logRetentionDays,
      configBucketName: location === props.directoryHome ? configBucketName : undefined,
    });
    // The purge roles of the other locations live in stacks deployed before this one (see app.ts).
    this.purgeReceipts?.allowWriters(
      config.locations.map((l) =>
        l === location
          ? this.purge.function.grantPrincipal
          : new iam.ArnPrincipal(PurgeService.roleArn(this, stage, l)),
      ),
    );
    this.purgeAlarms = new PurgeAlarms(this, 'PurgeAlarms', {
      topic: this.alarmTopic.topic,
      purge: this.purge,
    });

    new CfnOutput(this, 'IngestOriginUrl', {
      description: 'Function URL of the ingest origin (AWS_IAM): reachable only through CloudFront with OAC',
      value: this.ingest.functionUrl.url,
    });
    new CfnOutput(this, 'IngestFunctionName', { value: this.ingest.function.function.functionName });
    new CfnOutput(this, 'EventBucketName', { value: this.eventStore.bucket.bucketName });
    new CfnOutput(this, 'EventStreamName', { value: this.eventStreams[0]!.deliveryStreamName });
    new CfnOutput(this, 'EventStreamNames', {
      description: 'Every event stream of the location, comma-separated, in stream-index order',
      value: this.eventStreams.map((s) => s.deliveryStreamName).join(','),
    });
    new CfnOutput(this, 'DirectoryTableName', { value: this.directoryTable.tableName });
    new CfnOutput(this, 'KeyArn', { value: encryptionKey.keyArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topic.topicArn });
    new CfnOutput(this, 'PurgeFunctionName', { value: this.purge.function.function.functionName });
    new CfnOutput(this, 'PurgeDeadLetterQueueUrl', { value: this.purge.deadLetterQueue.queueUrl });
    if (this.purgeReceipts) {
      new CfnOutput(this, 'PurgeReceiptsBucketName', { value: this.purgeReceipts.bucket.bucketName });
    }
  }

  /**
   * The location's event streams, all into the event bucket under the same `account=/dt=` prefix. Stream 0
   * keeps the construct id of the single stream that came first, so adding streams never replaces it (nor
   * its named log group); the others share its error log group and its statement in the key policy.
   */
  private addEventStreams(config: StageConfig, encryptionKey: kms.IKey): EventStream[] {
    const { stage } = config;
    const streams: EventStream[] = [];
    for (let i = 0; i < config.eventStreams; i++) {
      streams.push(
        new EventStream(this, i === 0 ? 'EventStream' : `EventStream${i}`, {
          deliveryStreamName: names.eventStream(stage, this.location, i),
          destinationBucket: this.eventStore.bucket,
          encryptionKey,
          errorLogGroupName: awsNames.logGroup(stage, this.location, 'event-stream'),
          logRetentionDays: config.logRetentionDays,
          shareWith: streams[0],
        }),
      );
    }
    return streams;
  }
}

/**
 * Daily, at an hour of its own for each location (02:00, 10:00 and 18:00 UTC): the jobs of the three
 * regions share the directory, so they take turns instead of finding each other's accounts claimed, and an
 * account that one region's run could not finish is picked up by the next region's eight hours later.
 */
export function purgeSchedule(location: Location): events.Schedule {
  const hour = (2 + 8 * LOCATIONS.indexOf(location)) % 24;
  return events.Schedule.cron({ minute: '0', hour: String(hour) });
}
