/**
 * The incident service's GCP adapters on the real Firestore and Pub/Sub emulators of the Google Cloud SDK
 * (started by the jest global setup), and `npm run incident -- revoke-key --stage dev --cloud gcp` end to
 * end over them: the key disabled in the Firestore directory, the incident recorded with its actor and
 * time, the notice published to the emulator's topic. Cloud Armor has no emulator: the edge is the
 * Compute API stand-in of `test/unit/incident/armor-stand-in.ts`, which proves the rule asked for, not
 * that Cloud Armor accepts it.
 */
import { randomBytes } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { armorRevokedKeyExpression, names } from '../../../platform';
import { generateApiKey } from '../../../services/shared/api-keys';
import { FirestoreDirectory } from '../../../services/shared/directory/firestore-directory';
import { runIncidentCli } from '../../../services/incident/src/cli';
import type { Incident } from '../../../services/incident/src/core/model';
import { NOTICE_ATTRIBUTES } from '../../../services/incident/src/aws/sns-notifier';
import { FirestoreIncidentStore } from '../../../services/incident/src/gcp/firestore-incident-store';
import { NOTICE_SUBJECT_ATTRIBUTE, PubSubNotifier } from '../../../services/incident/src/gcp/pubsub-notifier';
import { computeStandIn } from '../../unit/incident/armor-stand-in';
import { gcpEmulators } from '../gcp/emulators';

const { projectId } = gcpEmulators();
const suffix = randomBytes(4).toString('hex');
const pubsub = new PubSub({ projectId });
// The database the GCP stage target names: the emulator serves named databases too.
const stageDb = new Firestore({ projectId, databaseId: names.gcpDirectoryDatabase('dev') });
const defaultDb = new Firestore({ projectId });

afterAll(async () => {
  await Promise.all([pubsub.close(), stageDb.terminate(), defaultDb.terminate()]);
});

/** A subscription on `topic` (created if absent), to read what is published from now on. */
async function subscribe(topic: string): Promise<string> {
  const [exists] = await pubsub.topic(topic).exists();
  if (!exists) await pubsub.createTopic(topic).catch(() => undefined);
  const name = `${topic}-test-${suffix}-${randomBytes(2).toString('hex')}`;
  await pubsub.topic(topic).createSubscription(name);
  return name;
}

/** The first message on the subscription (or none within 15 s). */
async function pullOne(subscription: string): Promise<Message | undefined> {
  const sub = pubsub.subscription(subscription);
  const got = await new Promise<Message | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), 15_000);
    sub.on('error', reject);
    sub.on('message', (m: Message) => {
      m.ack();
      clearTimeout(timer);
      resolve(m);
    });
  });
  await sub.close();
  return got;
}

const incident = (id: string, detectedAt: string, accountId = 'acc_gcpshop0001'): Incident => ({
  id,
  accountId,
  keyIds: [],
  summary: 's',
  affectsPersonalData: true,
  detectedAt,
  status: 'open',
  timeline: [{ step: 'detected', at: detectedAt, actor: 'a', detail: 's' }],
  version: 1,
});

describe('FirestoreIncidentStore on the emulator', () => {
  test('creates once, replaces only over the expected version, lists newest first', async () => {
    const store = new FirestoreIncidentStore({ client: defaultDb, collection: `incidents-${suffix}` });
    const a = incident('inc_20260401_aaaaaa', '2026-04-01T00:00:00.000Z');
    const b = incident('inc_20260402_bbbbbb', '2026-04-02T00:00:00.000Z');
    expect(await store.create(a)).toBe(true);
    expect(await store.create({ ...a, summary: 'other' })).toBe(false);
    expect(await store.create(b)).toBe(true);
    expect((await store.get(a.id))?.summary).toBe('s');
    const next = { ...a, summary: 'updated', version: 2 };
    expect(await store.update(next, 1)).toBe(true);
    expect(await store.update({ ...a, summary: 'stale', version: 2 }, 1)).toBe(false);
    expect(await store.get(a.id)).toEqual(next);
    expect(await store.update(incident('inc_20260403_cccccc', '2026-04-03T00:00:00.000Z'), 1)).toBe(false);
    expect((await store.list()).map((i) => i.id)).toEqual([b.id, a.id]);
    expect(await store.get('inc_20260409_zzzzzz')).toBeUndefined();
  });

  test('two updates racing over the same version: exactly one wins', async () => {
    const store = new FirestoreIncidentStore({ client: defaultDb, collection: `incidents-race-${suffix}` });
    const a = incident('inc_20260401_racing', '2026-04-01T00:00:00.000Z');
    await store.create(a);
    const results = await Promise.all(
      ['x', 'y', 'z'].map((s) => store.update({ ...a, summary: s, version: 2 }, 1)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.get(a.id))?.version).toBe(2);
  });
});

describe('PubSubNotifier on the emulator', () => {
  test('publishes the notice with the attributes the SNS notifier sets, and the subject', async () => {
    const topic = `notices-${suffix}`;
    await pubsub.createTopic(topic);
    const subscription = await subscribe(topic);
    const notifier = new PubSubNotifier(pubsub, topic);
    expect(notifier.description).toBe(`pubsub:projects/${projectId}/topics/${topic}`);
    const where = await notifier.send({
      incidentId: 'inc_20260401_aaaaaa',
      accountId: 'acc_gcpshop0001',
      to: 'security@shop.example',
      subject: 'Security notice: API key revoked',
      body: 'Your key was revoked.',
      sequence: 1,
    });
    expect(where).toMatch(/^pubsub message \S+/);
    const m = await pullOne(subscription);
    expect(m?.data.toString()).toBe('Your key was revoked.');
    expect(m?.attributes).toEqual({
      [NOTICE_ATTRIBUTES.accountId]: 'acc_gcpshop0001',
      [NOTICE_ATTRIBUTES.contactEmail]: 'security@shop.example',
      [NOTICE_ATTRIBUTES.incidentId]: 'inc_20260401_aaaaaa',
      [NOTICE_SUBJECT_ATTRIBUTE]: 'Security notice: API key revoked',
    });
  });

  test('a missing topic fails naming it', async () => {
    const notifier = new PubSubNotifier(pubsub, `absent-${suffix}`);
    await expect(
      notifier.send({ incidentId: 'i', accountId: 'a', to: 't', subject: 's', body: 'b', sequence: 1 }),
    ).rejects.toThrow(
      `the notice could not be published to pubsub:projects/${projectId}/topics/absent-${suffix}`,
    );
  });
});

describe('npm run incident on a GCP stage (Firestore and Pub/Sub emulators, Armor stand-in)', () => {
  const account = `acc_gcp${suffix}`;
  const directory = new FirestoreDirectory({ client: stageDb, collection: names.gcpDirectoryCollection() });
  const armor = computeStandIn(projectId, names.gcpBackendSecurityPolicy('dev'));
  const now = new Date('2026-05-01T12:00:00.000Z');

  async function run(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await runIncidentCli([...argv, '--stage', 'dev', '--cloud', 'gcp', '--project', projectId], {
      stdout: (t) => (out += `${t}\n`),
      stderr: (t) => (err += `${t}\n`),
      now: () => now,
      computeRequest: armor.request,
      gcpIdentity: () => Promise.resolve('oncall@trackstack-test.iam.gserviceaccount.com'),
    });
    return { code, out, err };
  }

  test('revoke-key, then notify: key disabled, rule added, incident recorded with actor and time, notice published', async () => {
    await directory.putAccount({
      accountId: account,
      status: 'active',
      contactEmail: 'security@gcp.example',
      createdAt: '2026-01-01T00:00:00Z',
    });
    const key = generateApiKey();
    await directory.putApiKey({
      keyId: key.keyId,
      accountId: account,
      secretHash: key.secretHash,
      status: 'active',
      createdAt: '2026-01-01T00:00:00Z',
    });
    const subscription = await subscribe(names.gcpCustomerNoticeTopic('dev'));

    const revoked = await run('revoke-key', key.keyId, '--reason', 'leaked in a public repository');
    expect(revoked.err).toBe('');
    expect(revoked.code).toBe(0);
    const incidentId = /inc_\d{8}_[a-z0-9]{6}/.exec(revoked.out)?.[0];
    expect(incidentId).toBeDefined();

    expect(await directory.getApiKey(key.keyId)).toMatchObject({
      status: 'revoked',
      revokedAt: now.toISOString(),
    });
    const added = armor.rules.filter(
      (r) => r.match?.expr?.expression === armorRevokedKeyExpression(key.keyId),
    );
    expect(added).toEqual([
      expect.objectContaining({
        priority: 1000,
        action: 'deny(403)',
        description: expect.stringContaining(
          `${key.keyId} at ${now.toISOString()} by gcp:oncall@trackstack-test.iam.gserviceaccount.com`,
        ),
      }),
    ]);
    const store = new FirestoreIncidentStore({ client: stageDb, collection: names.gcpIncidentCollection() });
    const recorded = await store.get(incidentId!);
    expect(recorded?.accountId).toBe(account);
    expect(recorded?.timeline).toContainEqual(
      expect.objectContaining({
        step: 'contained',
        keyId: key.keyId,
        at: now.toISOString(),
        actor: 'gcp:oncall@trackstack-test.iam.gserviceaccount.com',
      }),
    );

    const again = await run('revoke-key', key.keyId, '--reason', 'again');
    expect(again.code).toBe(2);
    expect(
      armor.rules.filter((r) => r.match?.expr?.expression === armorRevokedKeyExpression(key.keyId)),
    ).toHaveLength(1);

    const notified = await run('notify', incidentId!);
    expect(notified.err).toBe('');
    expect(notified.code).toBe(0);
    const m = await pullOne(subscription);
    expect(m?.attributes).toMatchObject({
      [NOTICE_ATTRIBUTES.accountId]: account,
      [NOTICE_ATTRIBUTES.contactEmail]: 'security@gcp.example',
      [NOTICE_ATTRIBUTES.incidentId]: incidentId,
    });
    expect(m?.data.toString()).toContain(key.keyId);
    const after = await store.get(incidentId!);
    expect(after?.timeline.map((s) => [s.step, s.actor])).toContainEqual([
      'notified',
      'gcp:oncall@trackstack-test.iam.gserviceaccount.com',
    ]);
  }, 60_000);
});
