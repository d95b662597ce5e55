/**
 * The ingest environment's GCP adapters, as the Pulumi program sets them: `TS_SINK=pubsub`,
 * `TS_KEY_PROVIDER=cloudkms` and `TS_DIRECTORY=firestore`, each refused at start-up with a message that names
 * the missing or malformed variable.
 */
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gcfEnv } from '../../../services/ingest/src/gcf';
import { createRuntime } from '../../../services/ingest/src/runtime';

const KEY = 'projects/trackstack-dev/locations/europe-west1/keyRings/trackstack-dev-europe/cryptoKeys/data';

/** The message parseIngestEnv throws, or '' when it accepts the environment. */
function refusal(env: Record<string, string>): string {
  try {
    parseIngestEnv(env);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('TS_SINK=pubsub', () => {
  it('reads the topic and the project', () => {
    const env = parseIngestEnv({
      TS_SINK: 'pubsub',
      TS_PUBSUB_TOPIC: 'trackstack-dev-europe-events',
      TS_GCP_PROJECT: 'trackstack-dev',
    });
    expect(env).toMatchObject({
      TS_SINK: 'pubsub',
      TS_PUBSUB_TOPIC: 'trackstack-dev-europe-events',
      TS_GCP_PROJECT: 'trackstack-dev',
    });
  });

  it('requires the topic and the project, naming both', () => {
    const message = refusal({ TS_SINK: 'pubsub' });
    expect(message).toMatch(/TS_PUBSUB_TOPIC: is required when TS_SINK=pubsub/);
    expect(message).toMatch(/TS_GCP_PROJECT: is required when TS_SINK=pubsub/);
  });

  it.each([
    ['a full resource name', 'projects/p/topics/t', /TS_PUBSUB_TOPIC: must be the topic's short name/],
    ['a name starting with a digit', '1events', /TS_PUBSUB_TOPIC: must be a Pub\/Sub topic id/],
    ['a name too short', 'ab', /TS_PUBSUB_TOPIC: must be a Pub\/Sub topic id/],
    ['a name with a space', 'my events', /TS_PUBSUB_TOPIC: must be a Pub\/Sub topic id/],
    ['a reserved name', 'google-events', /TS_PUBSUB_TOPIC: must not start with "goog"/],
  ])('refuses %s as topic', (_what, topic, message) => {
    expect(refusal({ TS_SINK: 'pubsub', TS_PUBSUB_TOPIC: topic, TS_GCP_PROJECT: 'trackstack-dev' })).toMatch(
      message,
    );
  });

  it.each([
    ['too short', 'short'],
    ['too long', 'a'.repeat(31)],
    ['in capitals', 'Trackstack-dev'],
    ['starting with a digit', '1trackstack'],
    ['ending with a hyphen', 'trackstack-dev-'],
  ])('refuses a project id %s', (_what, project) => {
    expect(refusal({ TS_SINK: 'pubsub', TS_PUBSUB_TOPIC: 'events', TS_GCP_PROJECT: project })).toMatch(
      /TS_GCP_PROJECT: must be a GCP project id/,
    );
  });

  it('accepts project ids of exactly 6 and 30 characters', () => {
    for (const project of ['abcdef', `a${'b'.repeat(29)}`])
      expect(refusal({ TS_SINK: 'pubsub', TS_PUBSUB_TOPIC: 'events', TS_GCP_PROJECT: project })).toBe('');
  });
});

describe('TS_KEY_PROVIDER=cloudkms', () => {
  it('reads the key name', () => {
    expect(parseIngestEnv({ TS_KEY_PROVIDER: 'cloudkms', TS_CLOUD_KMS_KEY: KEY }).TS_CLOUD_KMS_KEY).toBe(KEY);
  });

  it('requires the key name', () => {
    expect(refusal({ TS_KEY_PROVIDER: 'cloudkms' })).toMatch(
      /TS_CLOUD_KMS_KEY: is required when TS_KEY_PROVIDER=cloudkms/,
    );
  });

  it.each([
    ['a key version', `${KEY}/cryptoKeyVersions/1`],
    ['a key ring', 'projects/trackstack-dev/locations/europe-west1/keyRings/ring'],
    ['a bare key id', 'data'],
    ['an AWS key ARN', 'arn:aws:kms:eu-west-1:123456789012:key/abc'],
    ['a bad project id', 'projects/P/locations/europe-west1/keyRings/r/cryptoKeys/k'],
  ])('refuses %s', (_what, key) => {
    expect(refusal({ TS_KEY_PROVIDER: 'cloudkms', TS_CLOUD_KMS_KEY: key })).toMatch(
      /TS_CLOUD_KMS_KEY: must be a Cloud KMS key name: projects\/<project>\/locations/,
    );
  });
});

describe('TS_DIRECTORY=firestore', () => {
  it('reads the project, and the database defaults to (default)', () => {
    const env = parseIngestEnv({ TS_DIRECTORY: 'firestore', TS_GCP_PROJECT: 'trackstack-dev' });
    expect(env.TS_FIRESTORE_DATABASE).toBe('(default)');
    expect(
      parseIngestEnv({
        TS_DIRECTORY: 'firestore',
        TS_GCP_PROJECT: 'trackstack-dev',
        TS_FIRESTORE_DATABASE: 'trackstack-dev',
      }).TS_FIRESTORE_DATABASE,
    ).toBe('trackstack-dev');
  });

  it('requires the project', () => {
    expect(refusal({ TS_DIRECTORY: 'firestore' })).toMatch(
      /TS_GCP_PROJECT: is required when TS_DIRECTORY=firestore/,
    );
  });

  it.each([
    ['in capitals', 'Trackstack'],
    ['too short', 'abc'],
    ['ending with a hyphen', 'trackstack-'],
    ['a resource path', 'projects/p/databases/d'],
  ])('refuses a database id %s', (_what, database) => {
    expect(
      refusal({
        TS_DIRECTORY: 'firestore',
        TS_GCP_PROJECT: 'trackstack-dev',
        TS_FIRESTORE_DATABASE: database,
      }),
    ).toMatch(/TS_FIRESTORE_DATABASE: must be a Firestore database id/);
  });
});

test('the AWS and local selections need none of the GCP variables', () => {
  expect(refusal({})).toBe('');
  expect(
    refusal({ TS_SINK: 'firehose', TS_FIREHOSE_STREAMS: 's', TS_KEY_PROVIDER: 'kms', TS_KMS_KEY_ID: 'k' }),
  ).toBe('');
});

test('on Cloud Functions the spool defaults to /tmp/spool, the only writable folder, unless set', () => {
  expect(gcfEnv({ TS_STAGE: 'dev' }).TS_SPOOL_DIR).toBe('/tmp/spool');
  expect(gcfEnv({ TS_SPOOL_DIR: '/tmp/elsewhere' }).TS_SPOOL_DIR).toBe('/tmp/elsewhere');
  expect(() => gcfEnv({ TS_SINK: 'pubsub' })).toThrow(/TS_PUBSUB_TOPIC: is required/);
});

test('a GCP selection in an entry that does not load the GCP adapters fails at start-up, saying so', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ts-gcp-env-'));
  try {
    const env = parseIngestEnv({
      TS_SINK: 'pubsub',
      TS_PUBSUB_TOPIC: 'events',
      TS_GCP_PROJECT: 'trackstack-dev',
      TS_DATA_DIR: dataDir,
      TS_LOG_LEVEL: 'silent',
    });
    await expect(createRuntime(env)).rejects.toThrow(
      /TS_SINK=pubsub needs the GCP adapters, which this entry does not load/,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
