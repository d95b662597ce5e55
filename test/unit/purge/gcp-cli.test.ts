/** The purge CLI's GCP flags (`--cloud gcp --project`) and the Cloud Functions entry's metric log lines. */
import { cliEnvironment, parsePurgeArgs, runPurgeCli } from '../../../services/purge/src/cli';
import { GCP_METRIC_FIELD, purgeMetricLogLines } from '../../../services/purge/src/gcf';
import { parsePurgeEnv } from '../../../platform/contracts/purge-env';

test('--stage --cloud gcp --project builds the GCP environment from the platform names', () => {
  const args = parsePurgeArgs([
    '--run',
    '--stage',
    'prod',
    '--cloud',
    'gcp',
    '--project',
    'acme-prod',
    '--locations',
    'europe',
  ]);
  if (args === 'help') throw new Error('unexpected help');
  const env = cliEnvironment(args, { TS_RECEIPTS_BUCKET: 'audit' });
  expect(env).toEqual({
    TS_TIME_BUDGET_SECONDS: '600',
    TS_LOG_LEVEL: 'silent',
    TS_STAGE: 'prod',
    TS_LOCATION: 'americas',
    TS_DIRECTORY: 'firestore',
    TS_GCP_PROJECT: 'acme-prod',
    TS_FIRESTORE_DATABASE: 'trackstack-prod',
    TS_OBJECT_STORE: 'gcs',
    TS_CONFIG_BUCKET: 'trackstack-prod-config-acme-prod',
    TS_RECEIPT_STORE: 'gcs',
    TS_RECEIPTS_BUCKET: 'audit',
    TS_LOCATIONS: 'europe',
    TS_EVENT_BUCKET_EUROPE: 'trackstack-prod-europe-events-acme-prod',
  });
  expect(parsePurgeEnv(env).TS_OBJECT_STORE).toBe('gcs');
});

test.each([
  [['--run', '--stage', 'dev', '--cloud', 'gcp'], /--cloud gcp needs --project <project-id>/],
  [
    ['--run', '--stage', 'dev', '--project', 'acme-dev'],
    /--project goes only with --stage <stage> --cloud gcp/,
  ],
  [['--run', '--cloud', 'gcp', '--project', 'acme-dev'], /--cloud goes only with --stage/],
  [['--run', '--stage', 'dev', '--cloud', 'azure'], /--cloud must be aws or gcp, got "azure"/],
  [
    ['--run', '--stage', 'dev', '--cloud', 'gcp', '--project', 'Acme_Dev'],
    /--project must be a GCP project id/,
  ],
  [
    ['--run', '--stage', 'dev', '--cloud', 'gcp', '--project', 'acme-dev', '--account', '123456789012'],
    /--account is for AWS/,
  ],
])('%j exits 2 with a precise message, changing nothing', async (argv, message) => {
  let err = '';
  const code = await runPurgeCli(argv, { stdout: () => undefined, stderr: (t) => (err += t), env: {} });
  expect(code).toBe(2);
  expect(err).toMatch(message);
});

test('--help lists --cloud and --project', async () => {
  let out = '';
  expect(await runPurgeCli(['--help'], { stdout: (t) => (out += t), stderr: () => undefined })).toBe(0);
  expect(out).toMatch(/--cloud <aws\|gcp>/);
  expect(out).toMatch(/--project <project-id>/);
});

test('one structured log line per figure; PurgeOverdueAccounts carries its value in `value`', () => {
  const lines = purgeMetricLogLines(
    {
      overdueAccounts: 2,
      oldestUnpurgedExpiredDays: 81,
      eligibleUnpurgedAccounts: 0,
      accountsPurged: 1,
      objectVersionsDeleted: 7,
      deleteMarkersDeleted: 0,
      failedAccounts: 0,
      incomplete: false,
    },
    { stage: 'prod', location: 'americas', runId: 'run_x' },
  ).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toHaveLength(8);
  expect(GCP_METRIC_FIELD).toBe('metric');
  expect(lines.find((l) => l.metric === 'PurgeOverdueAccounts')).toEqual({
    severity: 'WARNING',
    message: 'purge metric PurgeOverdueAccounts=2',
    metric: 'PurgeOverdueAccounts',
    value: 2,
    stage: 'prod',
    location: 'americas',
    runId: 'run_x',
  });
  expect(lines.find((l) => l.metric === 'PurgeRunIncomplete')).toMatchObject({ value: 0, severity: 'INFO' });
});
