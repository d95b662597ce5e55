/**
 * The ingest service of one location: the function, its origin endpoint, and the secret that proves a
 * request came through the CDN.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  INGEST_METRICS,
  type Location,
  METRIC_DIMENSIONS,
  metricsNamespace,
  type Stage,
} from '../../../../platform';
import { ingestEnvSchema, type IngestEnvInput } from '../../../../platform/contracts/ingest-env';
import {
  acknowledgeOriginSecretRotation,
  acknowledgePublicFunctionUrl,
} from '../../../../policies/aws/acknowledgements';
import { withSid } from '../grants';
import type { IDirectoryTable } from './directory-table';
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
  readonly directoryTable: IDirectoryTable;
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
  private readonly stage: Stage;
  private readonly location: Location;

  constructor(scope: Construct, id: string, props: IngestServiceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const key = props.encryptionKey;
    const stream = props.eventStream;
    this.stage = props.stage;
    this.location = props.location;

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
    const fn = this.function;

    stream.grantPutRecords(fn);
    // Two of the key's statements are written out: aws-cdk-lib's key grants take no conditions, and these
    // carry the encryption context (data keys) or the services (the table key, the secret) each use needs.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WrapAccountDataKeys',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
        conditions: dataKeyConditions(),
      }),
    );
    withSid('CheckKey', key.grant(fn, 'kms:DescribeKey'));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptTableKeyAndSecretThroughServices',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': [
              `dynamodb.${stack.region}.amazonaws.com`,
              `secretsmanager.${stack.region}.amazonaws.com`,
            ],
          },
        },
      }),
    );
    props.directoryTable.grantReadItems(fn);
    // A compromised function can never write an account, a campaign or an API key, so it cannot re-enable a
    // revoked key or an expired account.
    props.directoryTable.grantWriteDataKeysAndClaims(fn);
    // Written out: `secret.grantRead(fn)` would add secretsmanager:DescribeSecret, and a key-policy statement
    // of its own; the function only reads the value, and the key statement above covers Secrets Manager.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadOriginSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.originSecret.secretArn],
      }),
    );

    // The key policy names the role too, under the same encryption-context condition, so neither an IAM
    // policy change nor a forged key id can widen what the role may unwrap.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'IngestWrapsAccountDataKeys',
        principals: [fn.grantPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: dataKeyConditions(),
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'IngestDescribesKey',
        principals: [fn.grantPrincipal],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    );

    this.functionUrl = fn.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    acknowledgePublicFunctionUrl(fn.function);
  }

  /**
   * Events that instances hold in their disk spool because the stream refuses them (`SpoolDepth`, the
   * service's EMF metric in `trackstack/<stage>`, dimension `Location`).
   */
  public metricSpoolDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: metricsNamespace(this.stage),
      metricName: INGEST_METRICS.spoolDepth,
      dimensionsMap: { [METRIC_DIMENSIONS.location]: this.location },
      ...props,
    });
  }
}

/**
 * Data keys are generated and unwrapped with `{ accountId }` as encryption context (the README's "What
 * happens to a hit", step 7): require exactly that context key, present.
 */
function dataKeyConditions(): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['accountId'] },
    Null: { 'kms:EncryptionContextKeys': 'false' },
  };
}
