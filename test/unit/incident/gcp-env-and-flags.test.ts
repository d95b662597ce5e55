/**
 * The GCP selections of the incident environment (each with the variables it needs, messages naming
 * them) and the `--cloud`/`--project` flags of `npm run incident`: each mistake exits 2 with a precise
 * message and changes nothing; `--help` lists the flags; the GCP stage's target names the platform's
 * GCP resources and records the caller's identity.
 */
import { names, parseIncidentEnv } from '../../../platform';
import { runIncidentCli, USAGE } from '../../../services/incident/src/cli';
import { gcpStageTarget } from '../../../services/incident/src/gcp-stage-env';
import { createIncidentRuntime } from '../../../services/incident/src/runtime';
import { createWorld, type World } from './world';

describe('incident environment on GCP', () => {
  const gcp = {
    TS_DIRECTORY: 'firestore',
    TS_INCIDENT_STORE: 'firestore',
    TS_NOTIFIER: 'pubsub',
    TS_EDGE_STORE: 'armor',
    TS_GCP_PROJECT: 'trackstack-test',
    TS_FIRESTORE_DATABASE: 'trackstack-dev',
    TS_NOTICE_TOPIC: 'trackstack-dev-customer-notices',
    TS_ARMOR_POLICY: 'trackstack-dev-ingest',
  };

  test('a complete GCP selection parses', () => {
    expect(parseIncidentEnv(gcp)).toMatchObject(gcp);
  });

  test.each([
    [
      'TS_GCP_PROJECT',
      'TS_GCP_PROJECT: is required when TS_DIRECTORY=firestore, TS_INCIDENT_STORE=firestore, TS_NOTIFIER=pubsub, TS_EDGE_STORE=armor',
    ],
    [
      'TS_FIRESTORE_DATABASE',
      'TS_FIRESTORE_DATABASE: is required when TS_DIRECTORY=firestore, TS_INCIDENT_STORE=firestore',
    ],
    ['TS_NOTICE_TOPIC', 'TS_NOTICE_TOPIC: is required when TS_NOTIFIER=pubsub'],
    ['TS_ARMOR_POLICY', 'TS_ARMOR_POLICY: is required when TS_EDGE_STORE=armor'],
  ])('without %s the message names it and why', (missing, message) => {
    const env: Record<string, string> = { ...gcp };
    delete env[missing];
    expect(() => parseIncidentEnv(env)).toThrow(message);
  });

  test.each([
    ['TS_NOTICE_TOPIC', 'projects/p/topics/t', "must be the topic's short name"],
    ['TS_GCP_PROJECT', 'Bad_Project', 'must be a GCP project id'],
    ['TS_FIRESTORE_DATABASE', 'DB', 'must be a Firestore database id'],
    ['TS_ARMOR_POLICY', 'Not A Policy', 'must be a Cloud Armor policy name'],
  ])('a malformed %s is refused', (name, value, message) => {
    expect(() => parseIncidentEnv({ ...gcp, [name]: value })).toThrow(message);
  });

  test('an entry that does not carry the GCP adapters refuses a GCP selection at start-up', async () => {
    await expect(createIncidentRuntime(parseIncidentEnv(gcp))).rejects.toThrow(
      'TS_DIRECTORY=firestore, TS_INCIDENT_STORE=firestore, TS_NOTIFIER=pubsub, TS_EDGE_STORE=armor selects GCP adapters, which this entry does not carry',
    );
  });

  test('the GCP stage target names the platform resources and the caller', async () => {
    const t = await gcpStageTarget('dev', 'trackstack-test', () => Promise.resolve('ops@example.com'));
    expect(t.actor).toBe('gcp:ops@example.com');
    expect(parseIncidentEnv(t.env)).toMatchObject({
      TS_FIRESTORE_DATABASE: names.gcpDirectoryDatabase('dev'),
      TS_NOTICE_TOPIC: names.gcpCustomerNoticeTopic('dev'),
      TS_ARMOR_POLICY: names.gcpBackendSecurityPolicy('dev'),
      TS_GCP_PROJECT: 'trackstack-test',
    });
    await expect(gcpStageTarget('dev', 'trackstack-test', () => Promise.resolve(' '))).rejects.toThrow(
      'the caller has no Google identity to record as the actor',
    );
  });
});

describe('npm run incident --cloud', () => {
  let w: World;
  beforeEach(async () => {
    w = await createWorld();
  });
  afterEach(() => w.close());

  test.each([
    [['list', '--cloud', 'gcp'], '--cloud goes only with --stage'],
    [['list', '--project', 'trackstack-test'], '--project goes only with --stage'],
    [['list', '--stage', 'dev', '--cloud', 'azure'], '--cloud must be aws or gcp; got "azure"'],
    [['list', '--stage', 'dev', '--cloud', 'gcp'], '--cloud gcp needs --project <GCP project id>'],
    [['list', '--stage', 'dev', '--cloud', 'gcp', '--project', 'X'], '--project must be a GCP project id'],
    [['list', '--stage', 'dev', '--project', 'trackstack-test'], '--project goes only with --cloud gcp'],
    [
      ['list', '--stage', 'dev', '--cloud', 'gcp', '--project', 'trackstack-test', '--table', 't'],
      '--table name AWS resources: not with --cloud gcp',
    ],
  ])('%j exits 2 with a precise message and changes nothing', async (argv, message) => {
    const before = await w.snapshot();
    let out = '';
    let err = '';
    const code = await runIncidentCli(argv, {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: { TS_DATA_DIR: w.dataDir },
      gcpIdentity: () => Promise.reject(new Error('must not be asked')),
    });
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(out).toBe('');
    expect(await w.snapshot()).toEqual(before);
  });

  test('--help lists the flags', () => {
    expect(USAGE).toContain('--cloud <aws|gcp>');
    expect(USAGE).toContain('--project <id>');
  });
});
