/**
 * The breach-response walk-through, as an operator does it: the real `npm run local` server (its program,
 * `services/ingest/src/local.ts`, in a child process on a temporary data folder) and `npm run incident`
 * in child processes against the same local store. A postback with the seeded demo key is stored; the key
 * is revoked and the server refuses it within the ingest's cache bound (`LIMITS.keyStatusCacheSeconds`,
 * measured); revoking it again is refused; the customer is notified (the outbox holds the message); a
 * replacement key is issued and accepted; the incident is closed and its timeline shown.
 *
 * The server has no setting to shorten its 60-second key cache, so the test polls (a key looked up just
 * before the revoke stays trusted for up to 60 s). The whole transcript is printed for the closing note.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDGE_STORE, LIMITS } from '../../../platform';
import { REPO_ROOT } from '../../../infra/build/paths';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../../../services/ingest/src/local/seed';
import { spawnIngest, type IngestProcess } from '../../support/fault-ingest-process';

jest.setTimeout(180_000);

let dataDir: string;
let server: IngestProcess;
const transcript: string[] = [];
const say = (line: string) => transcript.push(line);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'incident-walk-'));
  server = await spawnIngest(dataDir);
});
afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
  console.log(transcript.join('\n'));
});

/** `npm run incident -- <argv>` in a child process, recorded in the transcript. */
function incident(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '-s', 'incident', '--', ...argv, '--data-dir', dataDir],
      { cwd: REPO_ROOT, env: { ...process.env, TS_DATA_DIR: '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        say(`$ npm run incident -- ${argv.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}`);
        if (stdout) say(stdout.trimEnd());
        if (stderr) say(stderr.trimEnd());
        say(`(exit ${code})`);
        resolve({ code, out: stdout, err: stderr });
      },
    );
  });
}

let clicks = 0;
/** A postback with `key`, as a customer's server sends it; recorded unless `quiet`. */
async function postback(key: string, quiet = false): Promise<number> {
  const query = `campaignId=${DEMO_CAMPAIGN_ID}&clickId=walk-${++clicks}&value=10`;
  const res = await fetch(`${server.url}/postback?${query}`, { headers: { 'x-api-key': key } });
  const body = await res.text();
  if (!quiet) {
    say(`$ curl -H "x-api-key: ${key}" "${server.url}/postback?${query}"`);
    say(`${res.status} ${body}`);
  }
  return res.status;
}

test('a key used on /postback is revoked and refused within the cache bound, notified, rotated, closed', async () => {
  say(`$ npm run local -- --data-dir ${dataDir}`);
  say(server.output().trimEnd());
  const demoKey = server.apiKey!;
  expect(demoKey).toBeDefined();
  const keyId = demoKey.split('_')[1]!;

  // 1. The key works.
  expect(await postback(demoKey)).toBe(202);

  // 2. Contain: revoke it. The command prints the incident it opened.
  const revokeStart = Date.now();
  const revoked = await incident('revoke-key', keyId, '--reason', 'key published in a public repository');
  const revokeDone = Date.now();
  expect(revoked.code).toBe(0);
  const incidentId = /Opened incident (inc_\d{8}_[a-z0-9]{6})/.exec(revoked.out)?.[1];
  expect(incidentId).toBeDefined();
  const edge = JSON.parse(await readFile(join(dataDir, 'edge-store.json'), 'utf8')) as Record<string, string>;
  expect(edge[EDGE_STORE.revokedKey(keyId)]).toBeDefined();

  // 3. The server refuses it within LIMITS.keyStatusCacheSeconds of the revocation (its instant in the
  // directory record, written by the command): the bound the ingest's cache promises.
  const directory = JSON.parse(await readFile(join(dataDir, 'directory.json'), 'utf8')) as {
    items: { pk: string; revokedAt?: string }[];
  };
  const revokedAt = Date.parse(directory.items.find((i) => i.pk === `APIKEY#${keyId}`)!.revokedAt!);
  let status = 202;
  let polls = 0;
  while (status !== 401 && Date.now() - revokedAt < (LIMITS.keyStatusCacheSeconds + 5) * 1000) {
    status = await postback(demoKey, true);
    polls++;
    if (status === 202) await new Promise((r) => setTimeout(r, 100));
  }
  const refusedAfterMs = Date.now() - revokedAt;
  say(`(polled /postback ${polls} times: accepted from the ingest's cache until it re-read the directory)`);
  expect(await postback(demoKey)).toBe(401);
  say(
    `(the revoked key was refused ${(refusedAfterMs / 1000).toFixed(1)} s after its revocation was written; ` +
      `revoke-key itself took ${((revokeDone - revokeStart) / 1000).toFixed(1)} s; bound ${LIMITS.keyStatusCacheSeconds} s)`,
  );
  expect(status).toBe(401);
  expect(refusedAfterMs).toBeLessThanOrEqual(LIMITS.keyStatusCacheSeconds * 1000);

  // 4. Revoking it again is refused and changes nothing.
  const directoryBefore = await readFile(join(dataDir, 'directory.json'), 'utf8');
  const again = await incident('revoke-key', keyId, '--reason', 'again');
  expect(again.code).toBe(2);
  expect(again.err).toContain(`Refused, nothing was changed: API key ${keyId} is already revoked`);
  expect(await readFile(join(dataDir, 'directory.json'), 'utf8')).toBe(directoryBefore);

  // 5. Notify: the outbox holds the rendered message for the account's contact.
  const notified = await incident('notify', incidentId!);
  expect(notified.code).toBe(0);
  const message = await readFile(join(dataDir, 'outbox', `${incidentId}-1.txt`), 'utf8');
  say(`$ cat ${join(dataDir, 'outbox', `${incidentId}-1.txt`)}`);
  say(message.trimEnd());
  expect(message).toMatch(
    /^To: demo@example\.com\nSubject: Security incident inc_\d{8}_[a-z0-9]{6} affecting/,
  );
  expect(message).toContain(`we revoked API key ${keyId}`);
  expect(message).toContain('Generate a new API key');
  expect(message).toContain('security@trackstack.example');

  // 6. Rotate: a new key, printed once, is accepted at once.
  const rotated = await incident('rotate-key', keyId);
  expect(rotated.code).toBe(0);
  const newKey = /^\s+(tsk_[a-z0-9]{16}_[A-Za-z0-9]{40})$/m.exec(rotated.out)?.[1];
  expect(newKey).toBeDefined();
  expect(await readFile(join(dataDir, 'directory.json'), 'utf8')).not.toContain(newKey!.slice(21));
  expect(await postback(newKey!)).toBe(202);
  expect(await postback(demoKey)).toBe(401);

  // 7. Close, then show the whole timeline and the clock.
  const closed = await incident(
    'close',
    incidentId!,
    '--summary',
    'Key revoked within minutes and replaced; secret scanning added to the customer CI',
  );
  expect(closed.code).toBe(0);
  const shown = await incident('show', incidentId!);
  expect(shown.code).toBe(0);
  const steps = [...shown.out.matchAll(/^ {2}\S+Z {2}(\w+) +(\S+) /gm)].map((m) => m[1]);
  expect(steps).toEqual(['detected', 'contained', 'notified', 'rotated', 'resolved']);
  expect(shown.out).toMatch(/72-hour clock: {2}notified in 0h \dm \(within 72 hours\)/);
  const list = await incident('list');
  expect(list.out).toContain(`${incidentId}  closed  ${DEMO_ACCOUNT_ID}`);
});
