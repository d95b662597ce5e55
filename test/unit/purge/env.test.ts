/** The purge job's environment schema, shared by the Lambda handler, the CLI and the CDK construct. */
import type { z } from 'zod';
import { eventBuckets, parsePurgeEnv, purgeEnvSchema } from '../../../platform/contracts/purge-env';

// What the CDK construct needs: a schema that takes string variables (tokens at synth).
const _construct: z.ZodType<unknown, Record<string, string | undefined>> = purgeEnvSchema;

test('defaults: embedded defaults, 10-minute budget, 7-year receipt lock in us-east-1', () => {
  expect(parsePurgeEnv({})).toEqual({
    TS_STAGE: 'local',
    TS_LOCATION: 'americas',
    TS_LOCATIONS: ['americas', 'europe', 'apac'],
    TS_DIRECTORY: 'file',
    TS_FIRESTORE_DATABASE: '(default)',
    TS_OBJECT_STORE: 'file',
    TS_RECEIPT_STORE: 'file',
    TS_RECEIPTS_REGION: 'us-east-1',
    TS_RECEIPT_RETENTION_DAYS: 2557,
    TS_DATA_DIR: '.data',
    TS_TIME_BUDGET_SECONDS: 600,
    TS_LOG_LEVEL: 'info',
  });
  expect(_construct).toBe(purgeEnvSchema);
});

test('the AWS configuration, with opaque names (CDK tokens at synth)', () => {
  const env = parsePurgeEnv({
    TS_STAGE: 'prod',
    TS_LOCATION: 'apac',
    TS_DIRECTORY: 'dynamodb',
    TS_TABLE_NAME: 'trackstack-prod-directory',
    TS_OBJECT_STORE: 's3',
    TS_EVENT_BUCKET_AMERICAS: '${Token[TOKEN.101]}',
    TS_EVENT_BUCKET_APAC: 'trackstack-prod-apac-events',
    TS_LOCATIONS: 'americas,apac',
    TS_RECEIPT_STORE: 's3',
    TS_RECEIPTS_BUCKET: '${Token[TOKEN.102]}',
    TS_TIME_BUDGET_SECONDS: '780',
    PATH: '/usr/bin',
  });
  expect(env).toMatchObject({ TS_TIME_BUDGET_SECONDS: 780, TS_LOCATION: 'apac' });
  expect(eventBuckets(env)).toEqual({ americas: '${Token[TOKEN.101]}', apac: 'trackstack-prod-apac-events' });
});

test('every missing or malformed variable is named', () => {
  let message = '';
  try {
    parsePurgeEnv({
      TS_TIME_BUDGET_SECONDS: 'ten',
      TS_RECEIPT_RETENTION_DAYS: '0',
      TS_LOCATION: 'antarctica',
    });
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/^Invalid purge environment:/);
  expect(message).toMatch(/TS_LOCATION: Invalid option/);
  expect(message).toMatch(/TS_TIME_BUDGET_SECONDS: must be a whole number/);
  expect(message).toMatch(/TS_RECEIPT_RETENTION_DAYS: must be at least 1/);
  expect(() =>
    parsePurgeEnv({ TS_DIRECTORY: 'dynamodb', TS_OBJECT_STORE: 's3', TS_RECEIPT_STORE: 's3' }),
  ).toThrow(
    /TS_TABLE_NAME: is required when TS_DIRECTORY=dynamodb[\s\S]*TS_EVENT_BUCKET_AMERICAS: is required when TS_OBJECT_STORE=s3 and TS_LOCATIONS includes americas[\s\S]*TS_EVENT_BUCKET_APAC: is required[\s\S]*TS_RECEIPTS_BUCKET: is required when TS_RECEIPT_STORE=s3/,
  );
});

test('a bucket for a location the stage does not deploy is refused, not silently ignored', () => {
  expect(() =>
    parsePurgeEnv({
      TS_OBJECT_STORE: 's3',
      TS_LOCATIONS: 'europe',
      TS_EVENT_BUCKET_EUROPE: 'trackstack-dev-europe-events',
      TS_EVENT_BUCKET_APAC: 'trackstack-dev-apac-events',
    }),
  ).toThrow(/TS_EVENT_BUCKET_APAC: is set but TS_LOCATIONS \(europe\) does not include apac/);
  expect(() => parsePurgeEnv({ TS_LOCATIONS: 'europe,mars' })).toThrow(
    /TS_LOCATIONS: must be a comma-separated list/,
  );
});

test('the GCP configuration: Firestore directory, GCS event, config and receipts buckets', () => {
  const env = parsePurgeEnv({
    TS_STAGE: 'prod',
    TS_DIRECTORY: 'firestore',
    TS_GCP_PROJECT: 'trackstack-prod',
    TS_FIRESTORE_DATABASE: 'trackstack-prod',
    TS_OBJECT_STORE: 'gcs',
    TS_LOCATIONS: 'europe',
    TS_EVENT_BUCKET_EUROPE: 'trackstack-prod-europe-events-trackstack-prod',
    TS_CONFIG_BUCKET: 'trackstack-prod-config-trackstack-prod',
    TS_RECEIPT_STORE: 'gcs',
    TS_RECEIPTS_BUCKET: 'trackstack-prod-receipts-trackstack-prod',
    // AWS-only: not an AWS region, and ignored with the GCS receipt store.
    TS_RECEIPTS_REGION: 'europe-west1',
  });
  expect(env).toMatchObject({ TS_DIRECTORY: 'firestore', TS_OBJECT_STORE: 'gcs', TS_RECEIPT_STORE: 'gcs' });
  expect(eventBuckets(env)).toEqual({ europe: 'trackstack-prod-europe-events-trackstack-prod' });
  expect(parsePurgeEnv({ TS_DIRECTORY: 'firestore', TS_GCP_PROJECT: 'p-123456' }).TS_FIRESTORE_DATABASE).toBe(
    '(default)',
  );
});

test('the GCP selections name what they miss', () => {
  expect(() =>
    parsePurgeEnv({
      TS_DIRECTORY: 'firestore',
      TS_OBJECT_STORE: 'gcs',
      TS_LOCATIONS: 'apac',
      TS_RECEIPT_STORE: 'gcs',
    }),
  ).toThrow(
    /TS_GCP_PROJECT: is required when TS_DIRECTORY=firestore[\s\S]*TS_EVENT_BUCKET_APAC: is required when TS_OBJECT_STORE=gcs and TS_LOCATIONS includes apac[\s\S]*TS_RECEIPTS_BUCKET: is required when TS_RECEIPT_STORE=gcs/,
  );
  expect(() => parsePurgeEnv({ TS_DIRECTORY: 'firestore', TS_GCP_PROJECT: 'Bad_Project' })).toThrow(
    /TS_GCP_PROJECT: must be a GCP project id/,
  );
  expect(() =>
    parsePurgeEnv({ TS_RECEIPT_STORE: 's3', TS_RECEIPTS_BUCKET: 'b', TS_RECEIPTS_REGION: 'europe-west1' }),
  ).toThrow(/TS_RECEIPTS_REGION: must be an AWS region such as us-east-1/);
});
