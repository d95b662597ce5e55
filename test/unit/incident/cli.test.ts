/**
 * `npm run incident`'s command line, run in-process on the local store: each mistake exits 2 with a
 * message naming it and changes nothing; `--help` per command; what `show` and `list` print.
 */
import { rm } from 'node:fs/promises';
import { COMMAND_USAGE, runIncidentCli } from '../../../services/incident/src/cli';
import { createWorld, SHOP, T0, type World } from './world';

let w: World;
beforeEach(async () => {
  w = await createWorld();
});
afterEach(() => w.close());

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runIncidentCli(argv, {
    stdout: (t) => (out += `${t}\n`),
    stderr: (t) => (err += `${t}\n`),
    env: { TS_DATA_DIR: w.dataDir },
    now: () => new Date(T0.getTime() + 3_600_000),
  });
  return { code, out, err };
}

test.each([
  [['explode'], 'unknown command "explode": one of open, revoke-key, notify, rotate-key, close, list, show'],
  [['revoke-key', 'KEY'], 'revoke-key needs --reason "<text>"'],
  [['revoke-key', 'KEY', '--reason', ''], 'revoke-key needs --reason "<text>"'],
  [['revoke-key', 'tsk_abc', '--reason', 'r'], 'the key id must be an API key id'],
  [['revoke-key', '--reason', 'r'], 'revoke-key takes one API key id, got none'],
  [['revoke-key', 'KEY', '--reason', 'r', '--summary', 's'], 'revoke-key does not take --summary'],
  [['revoke-key', 'KEY', '--reason', 'r', '--bogus'], "revoke-key: Unknown option '--bogus'"],
  [['open', '--summary', 's'], 'open needs --account <accountId>'],
  [['open', '--account', SHOP], 'open needs --summary "<text>"'],
  [['close', 'inc_20260501_abcdef'], 'close needs --summary "<text>"'],
  [['notify', 'inc_bad'], 'the incident id must be an incident id'],
  [['list', '--table', 't'], '--table goes only with --stage'],
  [['list', '--stage', 'moon'], '--stage must be one of dev, staging, prod; got "moon"'],
])('%j exits 2 with a precise message and changes nothing', async (argv, message) => {
  const before = await w.snapshot();
  const r = await run(...argv.map((a) => (a === 'KEY' ? w.keys.shop : a)));
  expect(r.code).toBe(2);
  expect(r.err).toContain(message);
  expect(r.out).toBe('');
  expect(await w.snapshot()).toEqual(before);
});

test('unknown ids and an already-revoked key are refused with exit 2, nothing changed', async () => {
  expect((await run('revoke-key', w.keys.shop, '--reason', 'leaked')).code).toBe(0);
  const before = await w.snapshot();
  const again = await run('revoke-key', w.keys.shop, '--reason', 'again');
  expect(again).toMatchObject({ code: 2, out: '' });
  expect(again.err).toContain(`Refused, nothing was changed: API key ${w.keys.shop} is already revoked`);
  const unknownKey = await run('revoke-key', 'zzzzzzzzzzzzzzzz', '--reason', 'r');
  expect(unknownKey.err).toContain('Refused, nothing was changed: unknown API key zzzzzzzzzzzzzzzz');
  const unknownIncident = await run('show', 'inc_20260501_nothin');
  expect(unknownIncident).toMatchObject({ code: 2 });
  expect(unknownIncident.err).toContain('unknown incident inc_20260501_nothin');
  expect(await w.snapshot()).toEqual(before);
});

test('a data folder without a directory is refused, and nothing is created there', async () => {
  await rm(w.dataDir, { recursive: true });
  const r = await run('list');
  expect(r.code).toBe(2);
  expect(r.err).toContain(`the local store ${w.dataDir} has no directory file`);
  await expect(w.snapshot()).rejects.toThrow(/ENOENT/);
});

test('--help prints the tool or the command usage', async () => {
  expect((await run('--help')).out).toContain('Commands (detect → contain → notify → resolve):');
  const help = await run('revoke-key', '--help');
  expect(help.code).toBe(0);
  expect(help.out).toContain(COMMAND_USAGE['revoke-key']);
});

test('open prints the id; show prints the timeline with times and actors, and the clock; list the clock', async () => {
  const opened = await run(
    'open',
    '--account',
    SHOP,
    '--key',
    w.keys.shop,
    '--summary',
    'odd traffic',
    '--detected-at',
    T0.toISOString(),
  );
  expect(opened.code).toBe(0);
  const id = /Opened incident (inc_\d{8}_[a-z0-9]{6}) for acc_shopworld01/.exec(opened.out)?.[1];
  expect(id).toBeDefined();
  expect(opened.out).toContain('72-hour clock: 71h 0m left to notify (deadline 2026-05-04T10:00:00.000Z)');
  expect((await run('revoke-key', w.keys.shop, '--reason', 'confirmed', '--incident', id!)).code).toBe(0);
  const show = await run('show', id!);
  expect(show.out).toMatch(/Timeline\n {2}2026-05-01T10:00:00\.000Z {2}detected {3}\S+@\S+ {2}odd traffic\n/);
  expect(show.out).toMatch(/ {2}2026-05-01T11:00:00\.000Z {2}contained {2}\S+@\S+ {2}API key \w+ revoked/);
  expect(show.out).toContain('72-hour clock:  71h 0m left to notify');
  const list = await run('list', '--open');
  expect(list.out.split('\n')[1]).toMatch(new RegExp(`^${id} {2}open {4}${SHOP} .* 71h 0m left to notify`));
});
