/**
 * The post-deployment smoke check of a stage: one pixel hit per location through the CDN, for a smoke
 * account whose home is that location, read back from that location's event bucket. It proves the path a
 * customer's hit takes (CloudFront, the router function, the regional ingest function, Firehose, S3) in
 * each region, not just that the stacks deployed.
 *
 * Why one account per location: the router sends an account with a home location to that location
 * whatever the viewer's country (docs/edge.md, "Routing at the edge"), and the origin refuses it anywhere
 * else (421). The viewer's country would be unreliable: the pipeline's build machine is always in one
 * region. The smoke accounts must exist in the stage's directory with their home location and be
 * published to the edge store once (see the README, "Releasing → AWS").
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  EDGE_ACCOUNT_PARAM,
  EDGE_STACK_OUTPUTS,
  EVENT_OBJECTS,
  REGIONS,
  edgeStackName,
  type Location,
  type Stage,
} from '../../platform';
import { awsNames } from '../../infra/aws/lib/naming';

/** The output of each regional stack that names its event bucket (regional-stack.ts). */
export const EVENT_BUCKET_OUTPUT = 'EventBucketName';

/** The campaign every smoke account has. */
export const SMOKE_CAMPAIGN = 'cmp_smoke';

/**
 * The smoke account whose home is `location`, e.g. `acc_smokeeurope`: a valid account id (`acc_` and 8 to
 * 32 lowercase letters or digits), recognisable in the bucket and the logs.
 */
export function smokeAccountId(location: Location): string {
  return `acc_smoke${location}`;
}

/** The AWS SDK client settings a test may change (moto's endpoint and credentials). */
export interface AwsClientSettings {
  readonly endpoint?: string;
  /** S3 only. */
  readonly forcePathStyle?: boolean;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/**
 * The smoke hit's user agent: a browser's, because the ingest service drops hits whose user agent looks
 * like a bot (isbot) and the check must see the path a visitor's hit takes; the suffix marks it in logs.
 */
export const SMOKE_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 ' +
  'trackstack-smoke/1';

/** What the smoke check is asked to do. */
export interface SmokeOptions {
  readonly stage: Stage;
  /** The locations to check, each with its own hit. */
  readonly locations: readonly Location[];
  /** How long to wait for each object (Firehose buffers before it writes). */
  readonly timeoutMs: number;
  /** Pause between two listings of a bucket. */
  readonly pollMs: number;
  /** For tests: settings for every AWS SDK client (moto's endpoint); the region is set per client. */
  readonly awsClientConfig?: AwsClientSettings;
  /**
   * A role of the stage's account to assume for every read (cross-account releases: the pipeline runs in
   * the tooling account, the stacks and buckets are in the stage's).
   * @default - the caller's own credentials
   */
  readonly roleArn?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** The outcome in one location. */
export interface LocationResult {
  readonly location: Location;
  readonly ok: boolean;
  /** What happened, for the per-region line. */
  readonly detail: string;
  /** Time from the hit to the object (or to giving up). */
  readonly elapsedMs: number;
}

/** A failure of the smoke check itself (a missing stack or output, an unreachable CDN). */
export class SmokeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmokeError';
  }
}

/**
 * Runs the smoke check: reads the CDN's domain from the edge stack and each location's event bucket from
 * its regional stack, then sends the hits and waits for their objects, all locations at once.
 * @throws SmokeError when a stack or output the check needs cannot be read
 */
export async function runSmoke(given: SmokeOptions): Promise<LocationResult[]> {
  const options = given.roleArn
    ? { ...given, awsClientConfig: await assumeRole(given, given.roleArn) }
    : given;
  const log = options.log ?? (() => undefined);
  const edgeRegion = REGIONS.americas.aws;
  const domain = await stackOutput(
    options,
    edgeStackName(options.stage),
    edgeRegion,
    EDGE_STACK_OUTPUTS.domainName,
  );
  // The output is a host name; a local stand-in of the CDN may publish a whole http:// URL instead.
  const cdn = domain.includes('://') ? domain.replace(/\/+$/, '') : `https://${domain}`;
  log(`CDN: ${cdn}`);
  const buckets = await Promise.all(
    options.locations.map((location) =>
      stackOutput(
        options,
        awsNames.regionalStack(options.stage, location),
        REGIONS[location].aws,
        EVENT_BUCKET_OUTPUT,
      ),
    ),
  );
  return Promise.all(
    options.locations.map((location, i) => checkLocation(options, cdn, location, buckets[i]!)),
  );
}

async function checkLocation(
  options: SmokeOptions,
  cdn: string,
  location: Location,
  bucket: string,
): Promise<LocationResult> {
  const s3 = new S3Client({ ...options.awsClientConfig, region: REGIONS[location].aws });
  const account = smokeAccountId(location);
  const prefix = EVENT_OBJECTS.accountPrefix(account);
  try {
    // Objects of earlier runs are already there: only a key that was not, counts.
    const before = new Set(await listKeys(s3, bucket, prefix));
    const start = performance.now();
    const url = `${cdn}/p.gif?${EDGE_ACCOUNT_PARAM}=${account}&c=${SMOKE_CAMPAIGN}&e=impression`;
    let status: number;
    try {
      const res = await fetch(url, { headers: { 'user-agent': SMOKE_USER_AGENT } });
      status = res.status;
      await res.arrayBuffer();
    } catch (err) {
      return {
        location,
        ok: false,
        detail: `the hit to ${url} failed: ${(err as Error).message}`,
        elapsedMs: 0,
      };
    }
    if (status < 200 || status > 299)
      return { location, ok: false, detail: `the CDN answered ${status} to ${url}`, elapsedMs: 0 };
    options.log?.(`${location}: hit sent (${status}); waiting for s3://${bucket}/${prefix}`);
    for (;;) {
      const fresh = (await listKeys(s3, bucket, prefix)).find((k) => !before.has(k));
      const elapsedMs = performance.now() - start;
      if (fresh) return { location, ok: true, detail: `s3://${bucket}/${fresh}`, elapsedMs };
      if (elapsedMs >= options.timeoutMs)
        return {
          location,
          ok: false,
          detail: `no new object under s3://${bucket}/${prefix} within ${Math.round(options.timeoutMs / 1000)} s`,
          elapsedMs,
        };
      // The last listing happens at the deadline, not a whole poll interval before it.
      await new Promise((r) => setTimeout(r, Math.min(options.pollMs, options.timeoutMs - elapsedMs)));
    }
  } finally {
    s3.destroy();
  }
}

/** The client settings with the credentials of `roleArn`, assumed once for the whole check. */
async function assumeRole(options: SmokeOptions, roleArn: string): Promise<AwsClientSettings> {
  const { forcePathStyle: _s3Only, ...settings } = options.awsClientConfig ?? {};
  const sts = new STSClient({ ...settings, region: REGIONS.americas.aws });
  try {
    const res = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'trackstack-smoke', DurationSeconds: 3600 }),
    );
    const c = res.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS returned no credentials');
    return {
      ...options.awsClientConfig,
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
      },
    };
  } catch (err) {
    throw new SmokeError(`cannot assume ${roleArn}: ${(err as Error).message}`, { cause: err });
  } finally {
    sts.destroy();
  }
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function stackOutput(
  options: SmokeOptions,
  stackName: string,
  region: string,
  key: string,
): Promise<string> {
  const { forcePathStyle: _s3Only, ...settings } = options.awsClientConfig ?? {};
  const cfn = new CloudFormationClient({ ...settings, region });
  try {
    let output: string | undefined;
    try {
      const res = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      output = res.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
    } catch (err) {
      throw new SmokeError(`cannot describe stack ${stackName} in ${region}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!output) throw new SmokeError(`stack ${stackName} in ${region} has no output ${key}`);
    return output;
  } finally {
    cfn.destroy();
  }
}

/** The per-region lines of the report. */
export function formatResults(results: readonly LocationResult[]): string[] {
  const width = Math.max(...results.map((r) => r.location.length));
  return results.map(
    (r) =>
      `${r.location.padEnd(width)}  ${r.ok ? 'ok    ' : 'FAILED'}  ${(r.elapsedMs / 1000).toFixed(1).padStart(5)} s  ${r.detail}`,
  );
}
