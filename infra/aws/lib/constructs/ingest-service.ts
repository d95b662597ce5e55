/**
 * The ingest service of one location: the function, its origin endpoint, and the secret that proves a
 * request came through the CDN.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DIRECTORY_PARTITIONS, type Location, type Stage } from '../../../../platform';
import { ingestEnvSchema, type IngestEnvInput } from '../../../../platform/contracts/ingest-env';
import {
  acknowledgeOriginSecretRotation,
  acknowledgePublicFunctionUrl,
} from '../../../../policies/aws/acknowledgements';
import type { EventStream } from './event-stream';
import { TrackstackFunction } from './trackstack-function';

/** Where the function spools events while the stream is unreachable: Lambda's only writable path. */
export const LAMBDA_SPOOL_DIR = '/tmp/spool';

/** Properties of {@link IngestService}. */
export interface IngestServiceProps {
  /** The stage, passed to the handler. */
  readonly stage: Stage;
  /** The location, passed to the handler. */
  readonly location: Location;
  /** The regional key: wraps data keys, encrypts the secret and the logs. */
  readonly encryptionKey: kms.IKey;
  /** The stream the function writes events into. */
  readonly eventStream: EventStream;
  /** The directory table (this region's replica). */
  readonly directoryTable: dynamodb.ITableV2;
  /** Name of the secret that the CDN sends as `x-origin-verify`. */
  readonly originSecretName: string;
  /** Name of the function's log group. */
  readonly logGroupName: string;
  /** Days the function's logs are kept. */
  readonly logRetentionDays: number;
  /** Memory of the function, in MiB. */
  readonly memorySize: number;
  /** Reserved concurrency of the function. */
  readonly reservedConcurrentExecutions: number;
}

/**
 * The ingest function behind a Lambda Function URL.
 *
 * The URL uses `AuthType NONE` because CloudFront's origin access control signs requests to Lambda URLs
 * with SigV4, which needs the payload hash, and browsers' `sendBeacon` POSTs arrive without one. Instead,
 * the origin answers only the CDN: the CDN adds `x-origin-verify: <secret>` to every origin request, and
 * the function (which reads {@link originSecret} once per cold start, env `TS_ORIGIN_SECRET_ID`) answers
 * 403 without it. Contract for the edge stack: read this secret's `SecretString` in the origin's region
 * and send it as the custom origin header `x-origin-verify` to {@link functionUrl}.
 */
export class IngestService extends Construct {
  /** The ingest function. */
  public readonly function: TrackstackFunction<typeof ingestEnvSchema>;
  /** The origin endpoint the CDN forwards hits to. */
  public readonly functionUrl: lambda.FunctionUrl;
  /** The shared secret the CDN sends as `x-origin-verify`. */
  public readonly originSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: IngestServiceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const key = props.encryptionKey;
    const stream = props.eventStream;

    this.originSecret = new secretsmanager.Secret(this, 'OriginSecret', {
      secretName: props.originSecretName,
      description: 'Sent by the CDN as x-origin-verify; the ingest origin refuses requests without it',
      encryptionKey: key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    acknowledgeOriginSecretRotation(this.originSecret);

    const environment: IngestEnvInput = {
      TS_STAGE: props.stage,
      TS_LOCATION: props.location,
      TS_SINK: 'firehose',
      TS_FIREHOSE_STREAM: stream.deliveryStreamName,
      TS_KEY_PROVIDER: 'kms',
      TS_KMS_KEY_ID: key.keyArn,
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: props.directoryTable.tableName,
      TS_SPOOL_DIR: LAMBDA_SPOOL_DIR,
      TS_TRUST_PROXY: 'cloudfront',
      TS_METRICS_EMF: 'true',
      TS_ORIGIN_SECRET_ID: this.originSecret.secretArn,
    };
    this.function = new TrackstackFunction(this, 'Function', {
      service: 'ingest',
      description: `Trackstack ingest (${props.stage}, ${props.location})`,
      environmentSchema: ingestEnvSchema,
      environment,
      memorySize: props.memorySize,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      timeout: Duration.seconds(10),
      encryptionKey: key,
      logGroupName: props.logGroupName,
      logRetentionDays: props.logRetentionDays,
    });
    const role = this.function.role;

    // The table is a global table replica: the role may use the one in its own region only.
    const tableArn = stack.formatArn({
      service: 'dynamodb',
      resource: 'table',
      resourceName: props.directoryTable.tableName,
    });
    const dataKeyPartitions = `${DIRECTORY_PARTITIONS.dataKey}*`;
    const claimPartitions = `${DIRECTORY_PARTITIONS.dedup}*`;
    const viaServices = [
      `dynamodb.${stack.region}.amazonaws.com`,
      `secretsmanager.${stack.region}.amazonaws.com`,
    ];
    for (const statement of [
      new iam.PolicyStatement({
        sid: 'PutEvents',
        actions: ['firehose:DescribeDeliveryStream', 'firehose:PutRecordBatch'],
        resources: [stream.deliveryStreamArn],
      }),
      new iam.PolicyStatement({
        sid: 'WrapAccountDataKeys',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: dataKeyConditions(),
      }),
      new iam.PolicyStatement({
        sid: 'CheckKey',
        actions: ['kms:DescribeKey'],
        resources: [key.keyArn],
      }),
      new iam.PolicyStatement({
        sid: 'DecryptTableKeyAndSecretThroughServices',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': viaServices } },
      }),
      // Accounts, campaigns and API keys are read on the hot path: reads span the whole table.
      new iam.PolicyStatement({
        sid: 'ReadDirectory',
        actions: ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'],
        resources: [tableArn],
      }),
      // The function writes two kinds of item, each in partitions of its own kind, with conditional puts:
      // an account's wrapped data key and a conversion claim. It can never write an account, a campaign
      // or an API key, so a compromised function cannot re-enable a revoked key or an expired account.
      new iam.PolicyStatement({
        sid: 'StoreDataKeysAndConversionClaims',
        actions: ['dynamodb:PutItem'],
        resources: [tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [dataKeyPartitions, claimPartitions] },
        },
      }),
      // A claim is released when its event could not be stored, so a retry is not taken for a duplicate.
      new iam.PolicyStatement({
        sid: 'ReleaseConversionClaims',
        actions: ['dynamodb:DeleteItem'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [claimPartitions] } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadOriginSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.originSecret.secretArn],
      }),
    ]) {
      this.function.addToRolePolicy(statement);
    }

    // The key policy names the role too, under the same encryption-context condition, so neither an IAM
    // policy change nor a forged key id can widen what the role may unwrap.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'IngestWrapsAccountDataKeys',
        principals: [role],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: dataKeyConditions(),
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'IngestDescribesKey',
        principals: [role],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    );

    this.functionUrl = this.function.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    acknowledgePublicFunctionUrl(this.function.function);
  }
}

/**
 * Data keys are generated and unwrapped with `{ accountId }` as encryption context (DESIGN §4): require
 * exactly that context key, present.
 */
function dataKeyConditions(): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['accountId'] },
    Null: { 'kms:EncryptionContextKeys': 'false' },
  };
}
