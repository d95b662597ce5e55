/**
 * The data path, a hit per region: the ingest service runs in this process with each deployed ingest
 * function's environment (its SDK clients pointed at moto), takes one pixel hit, and the event is followed
 * through the Firehose stand-in to the deployed bucket, where its personal fields are decrypted with the
 * deployed regional key. This is what proves the stacks are wired, not only well-formed.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DescribeDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { withEnv } from '../shared/env';
import { regionClients, type FunctionConfiguration } from './moto-clients';
import type { DeployedStack } from './template';

/** What happened to the hit sent through one region's ingest service. */
export interface DataPathResult {
  readonly stack: string;
  readonly region: string;
  readonly location: string;
  readonly functionName: string;
  /** Environment variables of the deployed function that were changed for the in-process run, and why. */
  readonly overrides: Readonly<Record<string, string>>;
  readonly readiness: unknown;
  readonly hitStatus: number;
  /** `s3://bucket/key` of the object the event was found in. */
  readonly object?: string;
  readonly objectEncryption?: string;
  readonly event?: Record<string, unknown>;
  /** Personal fields decrypted with the deployed regional key (proves the envelope encryption). */
  readonly decrypted?: Record<string, unknown>;
  readonly error?: string;
}

/** A browser's user agent: the bot filter would drop a hit without one. */
const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
/** From a documentation range (RFC 5737): the report may show it decrypted without showing anyone's. */
const TEST_CLIENT_IP = '198.51.100.7';

/** Every event record of every object in the bucket, by object key. */
async function readEvents(
  s3: S3Client,
  bucket: string,
): Promise<{ key: string; events: Record<string, unknown>[] }[]> {
  const out: { key: string; events: Record<string, unknown>[] }[] = [];
  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of list.Contents ?? []) {
    if (!o.Key) continue;
    const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
    let body = Buffer.from(await obj.Body!.transformToByteArray());
    // Firehose compresses when the template asks for GZIP; moto's Firehose writes the records as they came.
    if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
    const events: Record<string, unknown>[] = [];
    for (const line of body.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not an event record
      }
    }
    out.push({ key: o.Key, events });
  }
  return out;
}

/**
 * The deployed function's environment as the in-process service can use it, and every change made to it
 * with its reason (the report prints them, so that no difference from Lambda goes unsaid).
 */
function inProcessEnvironment(
  deployed: Readonly<Record<string, string>>,
  dataDir: string,
): { env: Record<string, string>; overrides: Record<string, string> } {
  const overrides: Record<string, string> = {
    TS_DATA_DIR: `${dataDir} (Lambda's is read-only; the seed writes the campaign config here)`,
    TS_SPOOL_DIR: `${join(dataDir, 'spool')} (instead of Lambda's /tmp/spool)`,
    TS_LOG_LEVEL: 'warn (keeps the report readable)',
    TS_METRICS_EMF: 'false (EMF lines are for CloudWatch Logs)',
  };
  const env: Record<string, string> = {
    ...deployed,
    TS_DATA_DIR: dataDir,
    TS_SPOOL_DIR: join(dataDir, 'spool'),
    TS_LOG_LEVEL: 'warn',
    TS_METRICS_EMF: 'false',
  };
  return { env, overrides };
}

/**
 * Runs the ingest service in this process with a deployed function's environment (SDK clients pointed at
 * moto through AWS_ENDPOINT_URL), sends one pixel hit and follows it to the bucket. The hit arrives as
 * CloudFront would forward it (viewer address and country headers, the account in `a`); the Function URL's
 * IAM check in front of the function is not part of it (moto skips Function URLs).
 */
export async function sendHitThroughRegion(
  stack: DeployedStack,
  fn: FunctionConfiguration,
  endpoint: string,
  scratch: string,
): Promise<DataPathResult> {
  const [
    { parseIngestEnv },
    { createRuntime },
    { startServer },
    { DynamoDirectory },
    { seedDemo },
    { DataKeyService },
    { KmsKeyProvider },
  ] = await Promise.all([
    import('../../platform/contracts/ingest-env'),
    import('../../services/ingest/src/runtime'),
    import('../../services/ingest/src/server'),
    import('../../services/shared/directory/dynamo-directory'),
    import('../../services/ingest/src/local/seed'),
    import('../../services/ingest/src/crypto/data-keys'),
    import('../../services/ingest/src/crypto/kms-key-provider'),
  ]);
  const deployed = fn.Environment?.Variables ?? {};
  const location = deployed.TS_LOCATION ?? '?';
  const dataDir = mkdtempSync(join(scratch, `ingest-${location}-`));
  const { env, overrides } = inProcessEnvironment(deployed, dataDir);
  const base: Omit<DataPathResult, 'readiness' | 'hitStatus'> = {
    stack: stack.id,
    region: stack.region,
    location,
    functionName: fn.FunctionName,
    overrides,
  };
  const clients = regionClients(endpoint, stack.region);
  // The runtime builds its own SDK clients, as in Lambda; they read the endpoint and region from here.
  const awsEnv = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
  return withEnv(awsEnv, async (): Promise<DataPathResult> => {
    try {
      const parsed = parseIngestEnv(env);
      if (!parsed.TS_TABLE_NAME || !parsed.TS_KMS_KEY_ID || !parsed.TS_FIREHOSE_STREAMS)
        throw new Error('the deployed environment does not select the DynamoDB directory, KMS and Firehose');
      const directory = new DynamoDirectory({ client: clients.ddb, tableName: parsed.TS_TABLE_NAME });
      const seed = await seedDemo(directory, dataDir);
      const running = await startServer({ env: parsed, port: 0, runtime: await createRuntime(parsed) });
      let readiness: unknown;
      let hitStatus = 0;
      const marker = `deploy-local-${location}-${Date.now().toString(36)}`;
      try {
        readiness = await (await fetch(`${running.url}/readyz`)).json();
        const hit = await fetch(
          `${running.url}/p.gif?a=${seed.accountId}&c=${seed.campaignId}&e=pageview&n=${marker}`,
          {
            headers: {
              'user-agent': BROWSER_UA,
              'cloudfront-viewer-address': `${TEST_CLIENT_IP}:51234`,
              'cloudfront-viewer-country': 'FR',
            },
          },
        );
        hitStatus = hit.status;
        await hit.arrayBuffer();
      } finally {
        // Shutting down flushes the buffered sink: the hit is in Firehose once this returns.
        await running.shutdown();
      }
      const described = await clients.firehose.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: parsed.TS_FIREHOSE_STREAMS[0] }),
      );
      const bucketArn =
        described.DeliveryStreamDescription?.Destinations?.[0]?.ExtendedS3DestinationDescription?.BucketARN ??
        '';
      const bucket = bucketArn.replace(/^arn:aws:s3:::/, '');
      const found = (await readEvents(clients.s3, bucket))
        .map((o) => ({ key: o.key, event: o.events.find((e) => e.name === marker) }))
        .find((o) => o.event);
      if (!found?.event)
        return { ...base, readiness, hitStatus, error: `no event named ${marker} in s3://${bucket}` };
      const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: found.key }));
      const reader = new DataKeyService({
        provider: new KmsKeyProvider({ client: clients.kms, keyId: parsed.TS_KMS_KEY_ID }),
        directory,
        location: parsed.TS_LOCATION,
      });
      const pii = found.event.pii as Parameters<typeof reader.decryptFields>[1] | undefined;
      const decrypted = pii ? await reader.decryptFields(String(found.event.accountId), pii) : undefined;
      return {
        ...base,
        readiness,
        hitStatus,
        object: `s3://${bucket}/${found.key}`,
        objectEncryption: `${head.ServerSideEncryption ?? 'none'}${head.SSEKMSKeyId ? ` with ${head.SSEKMSKeyId}` : ''}`,
        event: found.event,
        decrypted,
      };
    } catch (err) {
      return { ...base, readiness: undefined, hitStatus: 0, error: (err as Error).stack ?? String(err) };
    }
  });
}

/**
 * Deployed names of the stack's ingest functions: those whose environment selects the Firehose sink (the
 * purge function's does not), found by environment so that construct ids can change freely.
 */
export function ingestFunctions(stack: DeployedStack): string[] {
  return Object.entries(stack.template.Resources).flatMap(([id, r]) => {
    const vars = (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    const name = stack.physical.get(id);
    return r.Type === 'AWS::Lambda::Function' && name && vars?.TS_SINK === 'firehose' ? [name] : [];
  });
}
