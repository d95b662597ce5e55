/**
 * The breach-response core over the local adapters (directory file, edge store file, incidents.json,
 * outbox): every use case, each refusal changing nothing, the actor of every step.
 */
import { readFile } from 'node:fs/promises';
import { EDGE_STORE, ID_PATTERNS } from '../../../platform';
import { apiKeyMatches } from '../../../services/shared/api-keys';
import { IncidentRefusedError, KeyAlreadyRevokedError } from '../../../services/incident/src/core/errors';
import type { OpenRequest } from '../../../services/incident/src/core/incident-service';
import { createWorld, SHOP, SILENT, T0, type World } from './world';

let w: World;
beforeEach(async () => {
  w = await createWorld();
});
afterEach(() => w.close());

const ALICE = 'alice@laptop';
const BOB = 'arn:aws:sts::123456789012:assumed-role/oncall/bob';
const later = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

/** Runs `action`, expects the refusal, and checks that no file of the world changed. */
async function refusedUnchanged(action: () => Promise<unknown>, message: RegExp): Promise<void> {
  const before = await w.snapshot();
  await expect(action()).rejects.toThrow(IncidentRefusedError);
  await expect(action()).rejects.toThrow(message);
  expect(await w.snapshot()).toEqual(before);
}

describe('open', () => {
  test('opens an incident detected at the given time, its id from the detection day, recorded as detected', async () => {
    const incident = await w.service.open(
      {
        accountId: SHOP,
        keyId: w.keys.shop,
        summary: 'key seen in a paste',
        detectedAt: '2026-04-30T22:15:00Z',
      },
      ALICE,
    );
    expect(incident.id).toMatch(/^inc_20260430_[a-z0-9]{6}$/);
    expect(ID_PATTERNS.incident.test(incident.id)).toBe(true);
    expect(incident).toMatchObject({
      accountId: SHOP,
      keyIds: [w.keys.shop],
      summary: 'key seen in a paste',
      affectsPersonalData: true,
      detectedAt: '2026-04-30T22:15:00.000Z',
      status: 'open',
      version: 1,
    });
    expect(incident.timeline).toEqual([
      { step: 'detected', at: '2026-04-30T22:15:00.000Z', actor: ALICE, detail: 'key seen in a paste' },
    ]);
    expect(await w.incidents.get(incident.id)).toEqual(incident);
  });

  test('detected now by default; personal data can be excluded', async () => {
    const incident = await w.service.open(
      { accountId: SILENT, summary: 'x', affectsPersonalData: false },
      ALICE,
    );
    expect(incident.detectedAt).toBe(T0.toISOString());
    expect(incident.affectsPersonalData).toBe(false);
  });

  test.each([
    ['an unknown account', { accountId: 'acc_nobodyhere1', summary: 's' }, /unknown account acc_nobodyhere1/],
    ['an empty summary', { accountId: SHOP, summary: '  ' }, /a summary .* is required/],
    ['an unknown key', { accountId: SHOP, summary: 's', keyId: 'zzzzzzzzzzzzzzzz' }, /unknown API key/],
    [
      'a key of another account',
      { accountId: SHOP, summary: 's', keyId: 'KEY:silent' },
      /belongs to acc_silentshop1/,
    ],
    ['a malformed detection time', { accountId: SHOP, summary: 's', detectedAt: '2026-04-31' }, /ISO-8601/],
    [
      'a detection in the future',
      { accountId: SHOP, summary: 's', detectedAt: '2026-05-02T00:00:00Z' },
      /in the future/,
    ],
  ])('refuses %s and stores nothing', async (_name, request: OpenRequest, message) => {
    const req = { ...request, ...(request.keyId === 'KEY:silent' ? { keyId: w.keys.silent } : {}) };
    await refusedUnchanged(() => w.service.open(req, ALICE), message);
    expect(await w.service.list()).toEqual([]);
  });
});

describe('revokeKey', () => {
  test('revokes the key in the directory and at the edge, and opens an incident recording who contained it', async () => {
    const r = await w.service.revokeKey(w.keys.shop, 'found in a public repository', ALICE);
    expect(r.opened).toBe(true);
    const key = await w.directory.getApiKey(w.keys.shop);
    expect(key).toMatchObject({
      status: 'revoked',
      revokedAt: T0.toISOString(),
      revokedReason: 'found in a public repository',
    });
    expect(await w.edge.get(EDGE_STORE.revokedKey(w.keys.shop))).toBe(T0.toISOString());
    expect(r.incident.accountId).toBe(SHOP);
    expect(r.incident.keyIds).toEqual([w.keys.shop]);
    expect(r.incident.timeline.map((s) => [s.step, s.actor])).toEqual([
      ['detected', ALICE],
      ['contained', ALICE],
    ]);
    expect(r.incident.timeline[1]).toMatchObject({ keyId: w.keys.shop, at: T0.toISOString() });
    // The other key of the account is untouched.
    expect((await w.directory.getApiKey(w.keys.shop2))?.status).toBe('active');
  });

  test('records on the incident given, adding the key to it', async () => {
    const opened = await w.service.open({ accountId: SHOP, summary: 'two keys leaked' }, ALICE);
    w.setNow(later(5));
    const r = await w.service.revokeKey(w.keys.shop2, 'leaked', BOB, opened.id);
    expect(r.opened).toBe(false);
    expect(r.incident.id).toBe(opened.id);
    expect(r.incident.keyIds).toEqual([w.keys.shop2]);
    expect(r.incident.version).toBe(2);
    expect(r.incident.timeline.map((s) => [s.step, s.actor, s.at])).toEqual([
      ['detected', ALICE, T0.toISOString()],
      ['contained', BOB, later(5).toISOString()],
    ]);
    expect(await w.service.list()).toHaveLength(1);
  });

  test('refuses a key already revoked, changing nothing (not even the edge entry)', async () => {
    await w.service.revokeKey(w.keys.shop, 'leaked', ALICE);
    w.setNow(later(1));
    const before = await w.snapshot();
    const err = await w.service.revokeKey(w.keys.shop, 'again', BOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyAlreadyRevokedError);
    expect((err as Error).message).toBe(
      `API key ${w.keys.shop} is already revoked (since ${T0.toISOString()})`,
    );
    expect(await w.snapshot()).toEqual(before);
  });

  test.each([
    [
      'an unknown key',
      () => w.service.revokeKey('zzzzzzzzzzzzzzzz', 'r', ALICE),
      /unknown API key zzzzzzzzzzzzzzzz/,
    ],
    ['a malformed key id', () => w.service.revokeKey('tsk_full_key', 'r', ALICE), /is not an API key id/],
    ['an empty reason', () => w.service.revokeKey(w.keys.shop, ' ', ALICE), /a reason .* is required/],
    [
      'an unknown incident',
      () => w.service.revokeKey(w.keys.shop, 'r', ALICE, 'inc_20260501_zzzzzz'),
      /unknown incident/,
    ],
  ])('refuses %s and changes nothing', async (_name, action, message) => {
    await refusedUnchanged(action, message);
    expect((await w.directory.getApiKey(w.keys.shop))?.status).toBe('active');
  });

  test('refuses an incident of another account, or a closed one, and changes nothing', async () => {
    const other = await w.service.open({ accountId: SILENT, summary: 'other' }, ALICE);
    await refusedUnchanged(
      () => w.service.revokeKey(w.keys.shop, 'r', ALICE, other.id),
      /is about acc_silentshop1/,
    );
    const closed = await w.service.open({ accountId: SHOP, summary: 'done' }, ALICE);
    await w.service.close(closed.id, 'false alarm', ALICE);
    await refusedUnchanged(() => w.service.revokeKey(w.keys.shop, 'r', ALICE, closed.id), /is closed/);
  });
});

describe('notify', () => {
  test('writes the rendered notice to the outbox for the account contact and records it', async () => {
    const { incident } = await w.service.revokeKey(w.keys.shop, 'leaked', ALICE);
    w.setNow(later(90));
    const r = await w.service.notify(incident.id, BOB);
    expect(r.to).toBe('security@shop.example');
    expect(r.deliveredTo).toBe(w.outbox.fileOf(incident.id, 1));
    const file = await readFile(r.deliveredTo, 'utf8');
    expect(file).toBe(`To: security@shop.example\nSubject: ${r.subject}\n\n${r.body}`);
    expect(file).toContain(`we revoked API key ${w.keys.shop}`);
    expect(r.incident.timeline.at(-1)).toEqual({
      step: 'notified',
      at: later(90).toISOString(),
      actor: BOB,
      detail: `notice 1 sent to security@shop.example (${r.deliveredTo})`,
    });
    const second = await w.service.notify(incident.id, BOB);
    expect(second.deliveredTo).toBe(w.outbox.fileOf(incident.id, 2));
  });

  test('refuses an account without a contact, sending and recording nothing', async () => {
    const { incident } = await w.service.revokeKey(w.keys.silent, 'leaked', ALICE);
    await refusedUnchanged(
      () => w.service.notify(incident.id, ALICE),
      /account acc_silentshop1 has no contact address \(contactEmail\) in the directory: nothing was sent/,
    );
  });

  test('refuses an unknown incident', async () => {
    await refusedUnchanged(
      () => w.service.notify('inc_20260501_aaaaaa', ALICE),
      /unknown incident inc_20260501_aaaaaa/,
    );
  });
});

describe('rotateKey', () => {
  test('issues a key for the same account, storing only its hash, and records the new id (never the key)', async () => {
    const { incident } = await w.service.revokeKey(w.keys.shop, 'leaked', ALICE);
    const r = await w.service.rotateKey(w.keys.shop, BOB);
    expect(r.key).toMatch(ID_PATTERNS.apiKey);
    expect(r.key.startsWith(`tsk_${r.keyId}_`)).toBe(true);
    expect(r.oldKeyActive).toBe(false);
    const stored = await w.directory.getApiKey(r.keyId);
    expect(stored).toMatchObject({ accountId: SHOP, status: 'active' });
    expect(apiKeyMatches(r.key, stored!.secretHash)).toBe(true);
    expect(r.incident.id).toBe(incident.id);
    expect(r.incident.timeline.at(-1)).toMatchObject({ step: 'rotated', actor: BOB, newKeyId: r.keyId });
    const secret = r.key.slice(`tsk_${r.keyId}_`.length);
    for (const [file, content] of Object.entries(await w.snapshot()))
      expect({ file, holdsSecret: content.includes(secret) }).toEqual({ file, holdsSecret: false });
  });

  test('refuses when no open incident holds the key and none is given, issuing nothing', async () => {
    await refusedUnchanged(() => w.service.rotateKey(w.keys.shop, ALICE), /no open incident holds API key/);
  });

  test('refuses an unknown key', async () => {
    await refusedUnchanged(() => w.service.rotateKey('zzzzzzzzzzzzzzzz', ALICE), /unknown API key/);
  });
});

describe('close, list and show', () => {
  test('close records resolved with the summary; a closed incident cannot be closed again', async () => {
    const { incident } = await w.service.revokeKey(w.keys.shop, 'leaked', ALICE);
    w.setNow(later(600));
    const closed = await w.service.close(incident.id, 'replaced; scanning added', BOB);
    expect(closed).toMatchObject({ status: 'closed', resolution: 'replaced; scanning added' });
    expect(closed.timeline.at(-1)).toEqual({
      step: 'resolved',
      at: later(600).toISOString(),
      actor: BOB,
      detail: 'replaced; scanning added',
    });
    await refusedUnchanged(() => w.service.close(incident.id, 'again', BOB), /is closed/);
  });

  test('close refuses an empty summary and an unknown incident', async () => {
    const { incident } = await w.service.revokeKey(w.keys.shop, 'leaked', ALICE);
    await refusedUnchanged(() => w.service.close(incident.id, '', BOB), /a summary .* is required/);
    await refusedUnchanged(() => w.service.close('inc_20260501_nothin', 's', BOB), /unknown incident/);
  });

  test('list gives newest detection first, --open only the open ones; show the whole record', async () => {
    const a = await w.service.open(
      { accountId: SHOP, summary: 'a', detectedAt: '2026-04-01T00:00:00Z' },
      ALICE,
    );
    const b = await w.service.open(
      { accountId: SHOP, summary: 'b', detectedAt: '2026-04-20T00:00:00Z' },
      ALICE,
    );
    await w.service.close(a.id, 'done', ALICE);
    expect((await w.service.list()).map((i) => i.id)).toEqual([b.id, a.id]);
    expect((await w.service.list({ openOnly: true })).map((i) => i.id)).toEqual([b.id]);
    expect(await w.service.show(b.id)).toEqual(b);
    await expect(w.service.show('inc_20260501_nothin')).rejects.toThrow(/unknown incident/);
  });
});

describe('the incident file', () => {
  test('a write over a stale version is refused; concurrent steps from two writers both land', async () => {
    const incident = await w.service.open({ accountId: SHOP, summary: 's' }, ALICE);
    expect(await w.incidents.update({ ...incident, summary: 'x', version: 2 }, 0)).toBe(false);
    expect(await w.incidents.create(incident)).toBe(false);
    await Promise.all([
      w.service.revokeKey(w.keys.shop, 'one', ALICE, incident.id),
      w.service.revokeKey(w.keys.shop2, 'two', BOB, incident.id),
    ]);
    const after = await w.service.show(incident.id);
    expect(after.version).toBe(3);
    expect(after.keyIds.slice().sort()).toEqual([w.keys.shop, w.keys.shop2].sort());
    expect(after.timeline.filter((s) => s.step === 'contained')).toHaveLength(2);
  });

  test('is written with mode 0600', async () => {
    await w.service.open({ accountId: SHOP, summary: 's' }, ALICE);
    const { stat } = await import('node:fs/promises');
    expect((await stat(w.incidents.file)).mode & 0o777).toBe(0o600);
  });
});
