/**
 * The ingest service of one location: the function, and its origin endpoint that only CloudFront can call.
 */
import { Duration, Fn, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  INGEST_METRICS,
  type Location,
  METRIC_DIMENSIONS,
  metricsNamespace,
  type Stage,
} from '../../../../platform';
import {
  ingestEnvSchema,
  ingestLimitEnvironment,
  type IngestEnvInput,
  type IngestLimitConfig,
} from '../../../../platform/contracts/ingest-env';
import { acknowledgeWildcardResource } from '../../../../policies/aws/acknowledgements';
import { withSid } from '../grants';
import type { IDirectoryTable } from './directory-table';
import { EventStream } from './event-stream';
import { TrackstackFunction } from './trackstack-function';

/** Where the function spools events while the stream is unreachable: Lambda's only writable path. */
export const LAMBDA_SPOOL_DIR = '/tmp/spool';

/** Properties of {@link IngestService}. */
export interface IngestServiceProps {
  /** The stage, passed to the handler. */
  readonly stage: Stage;
  /** The location, passed to the handler. */
  readonly location: Location;
  /** The regional key: wraps data keys and encrypts the logs. */
  readonly encryptionKey: kms.IKey;
  /**
   * The streams the function writes events into, in stream-index order: an account's events go to
   * `eventStreams[eventStreamIndex(accountId, eventStreams.length)]` (platform/layout.ts).
   * @default - [eventStream]
   */
  readonly eventStreams?: readonly EventStream[];
  /**
   * The one stream of a location that has a single stream; give `eventStreams` instead when it has several.
   * @default - none: `eventStreams` must be given
   */
  readonly eventStream?: EventStream;
  /** The directory table (this region's replica). */
  readonly directoryTable: IDirectoryTable;
  /** Name of the function's log group. */
  readonly logGroupName: string;
  /** Days the function's logs are kept. */
  readonly logRetentionDays: number;
  /** Memory of the function, in MiB. */
  readonly memorySize: number;
  /** Reserved concurrency of the function. */
  readonly reservedConcurrentExecutions: number;
  /**
   * Accounts whose events must stay in one location (data residency), by account id: passed to the function
   * as `TS_HOME_LOCATIONS`, so that a hit that reaches the wrong location is refused there too.
   * @default - none: only the directory's account records name home locations
   */
  readonly homeLocations?: Readonly<Record<string, Location>>;
  /**
   * The operator's rate limits and key-status cache TTL (the stage configuration's `ingest*` limit keys),
   * passed to the function as `TS_IP_RATE_PER_SECOND` and its siblings.
   * @default - the service's own defaults: today's `LIMITS` (50/s per IP, 200/s per key and per postback IP,
   * bursts of 10 s, a 60 s key-status cache)
   */
  readonly limits?: IngestLimitConfig;
}

/**
 * The ingest function behind a Lambda Function URL that only CloudFront can call.
 *
 * The URL uses `AuthType AWS_IAM`: Lambda refuses every request that is not signed by a principal allowed
 * to invoke it, before the function runs. The one principal allowed is CloudFront, signing with origin
 * access control (the edge stack's `FunctionUrlOrigin.withOriginAccessControl`), and only for the
 * distributions of this account (the two Lambda permissions below). Browsers' POSTs pass because
 * the snippet sends the body's SHA-256 as `x-amz-content-sha256`, which the signature needs.
 *
 * No shared-secret header: with IAM and origin access control, a request that did not come through a
 * distribution of this account never reaches the code, so a secret checked by that code would add nothing
 * an attacker could reach. (The service still supports `TS_ORIGIN_SECRET(_ID)` for clouds and hosts whose
 * front door cannot sign requests.)
 *
 * Contract for the edge stack: {@link functionUrl} (or {@link functionUrlDomain}) as an origin with
 * origin access control; CloudFront must forward the viewer's address and country
 * (`TS_TRUST_PROXY=cloudfront`).
 */
export class IngestService extends Construct {
  /** The ingest function. */
  public readonly function: TrackstackFunction<typeof ingestEnvSchema>;
  /** The origin endpoint the CDN forwards hits to (`AuthType AWS_IAM`). */
  public readonly functionUrl: lambda.FunctionUrl;
  /** The Function URL's host name (`<id>.lambda-url.<region>.on.aws`), as a CloudFront origin names it. */
  public readonly functionUrlDomain: string;
  private readonly stage: Stage;
  private readonly location: Location;

  constructor(scope: Construct, id: string, props: IngestServiceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const key = props.encryptionKey;
    const streams = selectStreams(this, props);
    this.stage = props.stage;
    this.location = props.location;

    const environment: IngestEnvInput = {
      TS_STAGE: props.stage,
      TS_LOCATION: props.location,
      TS_SINK: 'firehose',
      TS_FIREHOSE_STREAMS: streams.map((s) => s.deliveryStreamName).join(','),
      TS_KEY_PROVIDER: 'kms',
      TS_KMS_KEY_ID: key.keyArn,
      TS_DIRECTORY: 'dynamodb',
      TS_TABLE_NAME: props.directoryTable.tableName,
      TS_SPOOL_DIR: LAMBDA_SPOOL_DIR,
      TS_TRUST_PROXY: 'cloudfront',
      TS_METRICS_EMF: 'true',
      TS_HOME_LOCATIONS:
        props.homeLocations && Object.keys(props.homeLocations).length > 0
          ? JSON.stringify(props.homeLocations)
          : undefined,
      ...(props.limits && ingestLimitEnvironment(props.limits)),
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

    EventStream.grantPutRecordsOnAll(fn, streams);
    const [first, ...numbered] = streams;
    if (first && numbered.length > 0) {
      acknowledgeWildcardResource(
        fn.policy,
        first.numberedStreamsArn,
        'The function writes into every event stream of its stage and location; the numbered streams are ' +
          'named by their common prefix because up to fifty stream ARNs would not fit in its managed policy.',
      );
    }
    // The numbered streams are named, not referenced, in the grant: the function must still wait for them.
    for (const stream of numbered) fn.function.node.addDependency(stream.deliveryStream);
    // Two of the key's statements are written out: aws-cdk-lib's key grants take no conditions, and these
    // carry the encryption context (data keys) or the service (the table key) each use needs.
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
        sid: 'DecryptTableKeyThroughDynamoDb',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
      }),
    );
    props.directoryTable.grantReadItems(fn);
    // A compromised function can never write an account, a campaign or an API key, so it cannot re-enable a
    // revoked key or an expired account.
    props.directoryTable.grantWriteDataKeysAndClaims(fn);
    // The branch key of this location only (the data-key hierarchy that keeps KMS calls within quota,
    // docs/architecture.md): without it the service falls back to one KMS call per account and instance.
    props.directoryTable.grantCreateBranchKeys(fn, props.location);

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
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    // `https://<domain>/`: the host is the third part when split on '/'.
    this.functionUrlDomain = Fn.select(2, Fn.split('/', this.functionUrl.url));
    this.allowCloudFront();
  }

  /**
   * Lets CloudFront call the Function URL for the distributions of this account. Since late 2025 a Function
   * URL needs both `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` (the latter only through the URL).
   *
   * Why every distribution of the account rather than the edge's one: the distribution lives in the edge
   * stack (us-east-1), which needs this URL first, and a Lambda permission can only be created in the
   * function's own region. A permission naming the distribution would need the distribution to exist
   * before the regional stacks, which the distribution needs: a cycle. The wildcard means any CloudFront
   * distribution of this AWS account can reach the origin, and only the account's own administrators can
   * create one; no other account's distribution can (`SourceAccount` and the account in `SourceArn`).
   */
  private allowCloudFront(): void {
    const stack = Stack.of(this);
    const common = {
      principal: new iam.ServicePrincipal('cloudfront.amazonaws.com'),
      sourceAccount: stack.account,
      sourceArn: `arn:${stack.partition}:cloudfront::${stack.account}:distribution/*`,
    };
    this.function.function.addPermission('CloudFrontInvokesUrl', {
      ...common,
      action: 'lambda:InvokeFunctionUrl',
      functionUrlAuthType: lambda.FunctionUrlAuthType.AWS_IAM,
    });
    this.function.function.addPermission('CloudFrontInvokesThroughUrl', {
      ...common,
      action: 'lambda:InvokeFunction',
      invokedViaFunctionUrl: true,
    });
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
 * The streams of {@link IngestServiceProps}: exactly one of `eventStreams` (not empty) and `eventStream`.
 * @throws Error naming the construct when neither or both are given, or `eventStreams` is empty
 */
function selectStreams(scope: Construct, props: IngestServiceProps): readonly EventStream[] {
  const where = `[${scope.node.path}]`;
  if (props.eventStreams && props.eventStream) {
    throw new Error(`${where} give eventStreams or eventStream, not both`);
  }
  const streams = props.eventStreams ?? (props.eventStream ? [props.eventStream] : []);
  if (streams.length === 0) throw new Error(`${where} eventStreams: the function needs at least one stream`);
  return streams;
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
