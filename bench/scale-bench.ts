/**
 * Section 4: the event path with many accounts. The real ingest service in local mode (a child process, as
 * `npm run local` runs it) serves pixel hits from thousands of distinct accounts; the section checks that
 * every acknowledged event is stored under its own account's prefix, counts the key provider's calls against
 * what the data-key hierarchy's model predicts (a fresh store: one key per account and the branch key; a
 * restart with the keys stored: the branch key only), and reports the service's peak memory.
 */
import { readdir, readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EVENT_OBJECTS, LIMITS } from '../platform';
import { expectedKmsCalls } from '../services/ingest/src/crypto/branch-keys';
import { startChildServer } from './lib/child-server';
import { atMost, heading, info, num, type Figure } from './lib/report';
import { SCALE_CAMPAIGN_ID, scaleAccountId } from './lib/scale-accounts';

/** Settings of {@link runScaleBench}. */
export interface ScaleBenchOptions {
  readonly accounts: number;
  /** Hits per account in the first run. */
  readonly hitsPerAccount: number;
  /** Requests in flight at once. */
  readonly connections: number;
}

const SECTION = 'scale';
/** Peak heap the service may reach while serving the run: the bounded caches plus the service itself. */
const HEAP_BAR_MB = 256;

/** Sends `urls` with `connections` in flight; returns how many were acknowledged (2xx) and the other statuses. */
async function sendAll(base: string, urls: readonly string[], connections: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const statuses = new Map<string, number>();
  let acknowledged = 0;
  let next = 0;
  const one = (path: string) =>
    new Promise<string>((resolve) => {
      const req = request(
        `${base}${path}`,
        { agent, headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
        },
      );
      req.on('error', (err) => resolve(err.message));
      req.end();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < urls.length) {
        const status = await one(urls[next++]!);
        if (status.startsWith('2')) acknowledged++;
        else statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  agent.destroy();
  return { acknowledged, statuses };
}

/** The pixel hit of account `i`, its `n`-th. */
function pixelPath(i: number, n: number): string {
  return `/p.gif?a=${scaleAccountId(i)}&c=${SCALE_CAMPAIGN_ID}&e=impression&u=${encodeURIComponent(`https://shop.example/p/${n}`)}`;
}

/** Every stored event under `<dataDir>/events`: per account prefix, the events whose `accountId` matches and those that do not. */
async function readStore(dataDir: string) {
  const root = join(dataDir, 'events');
  let stored = 0;
  let misplaced = 0;
  const accounts = new Set<string>();
  for (const accountDir of await readdir(root)) {
    if (!accountDir.startsWith(EVENT_OBJECTS.accountKey)) continue;
    const accountId = accountDir.slice(EVENT_OBJECTS.accountKey.length);
    for (const dayDir of await readdir(join(root, accountDir))) {
      for (const file of await readdir(join(root, accountDir, dayDir))) {
        const text = await readFile(join(root, accountDir, dayDir, file), 'utf8');
        for (const line of text.split('\n')) {
          if (!line) continue;
          stored++;
          if ((JSON.parse(line) as { accountId?: string }).accountId === accountId) accounts.add(accountId);
          else misplaced++;
        }
      }
    }
  }
  return { stored, misplaced, accounts: accounts.size };
}

/** A measured count against the model's prediction: equal passes (one instance has no races to allow for). */
function predicted(name: string, measured: number, expected: number): Figure {
  return {
    section: SECTION,
    name,
    value: num(measured),
    bar: `= ${num(expected)} (model)`,
    verdict: measured === expected ? 'PASS' : 'MISS',
  };
}

/** Runs section 4 and returns its figures. */
export async function runScaleBench(options: ScaleBenchOptions): Promise<Figure[]> {
  heading(
    `4. The event path with ${num(options.accounts)} accounts (local mode: file sink, local directory and key)`,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'trackstack-bench-scale-'));
  try {
    const first = await startChildServer('ingest-scale', 'ingest-scale.ts', {
      env: { BENCH_DATA_DIR: dataDir, BENCH_SEED_ACCOUNTS: String(options.accounts) },
      readyTimeoutMs: 300_000,
    });
    const urls: string[] = [];
    // Round-robin over the accounts, so every account is active at once, as in a busy region.
    for (let n = 0; n < options.hitsPerAccount; n++)
      for (let i = 0; i < options.accounts; i++) urls.push(pixelPath(i, n));
    const started = performance.now();
    const sent = await sendAll(first.url, urls, options.connections);
    const seconds = (performance.now() - started) / 1000;
    const stats1 = (await first.stop(120_000)).stats ?? {};
    console.log(
      `instance 1 (${num(options.accounts)} accounts seeded in ${num(stats1.seedSeconds ?? 0, 1)} s): ` +
        `${num(urls.length)} hits in ${num(seconds, 1)} s (${num(urls.length / seconds)} /s), ` +
        `${num(sent.acknowledged)} acknowledged` +
        (sent.statuses.size > 0 ? `, others: ${JSON.stringify(Object.fromEntries(sent.statuses))}` : ''),
    );
    const store = await readStore(dataDir);
    console.log(
      `stored: ${num(store.stored)} events under ${num(store.accounts)} account prefixes, ` +
        `${store.misplaced} under another account's prefix`,
    );
    const generated = stats1['keyProvider.GenerateDataKey'] ?? 0;
    const unwrapped1 = stats1['keyProvider.Decrypt'] ?? 0;
    console.log(
      `data-key calls: GenerateDataKey ${num(generated)}, Decrypt ${num(unwrapped1)} ` +
        `(a fresh instance creates one key per account; its cache holds ${num(LIMITS.dataKeyCacheEntries)} keys for ${LIMITS.dataKeyCacheSeconds} s)`,
    );
    const mb = (bytes: number | undefined) => (bytes ?? 0) / 1024 / 1024;
    console.log(
      `instance 1 peak memory: heap ${num(mb(stats1.peakHeap))} MB, rss ${num(mb(stats1.peakRss))} MB`,
    );

    // A second instance on the same store: every key is stored, its cache is cold.
    const second = await startChildServer('ingest-scale', 'ingest-scale.ts', {
      env: { BENCH_DATA_DIR: dataDir },
    });
    const again = await sendAll(
      second.url,
      Array.from({ length: options.accounts }, (_, i) => pixelPath(i, options.hitsPerAccount)),
      options.connections,
    );
    const stats2 = (await second.stop(120_000)).stats ?? {};
    const generated2 = stats2['keyProvider.GenerateDataKey'] ?? 0;
    const unwrapped2 = stats2['keyProvider.Decrypt'] ?? 0;
    console.log(
      `instance 2 (keys stored, cold cache): ${num(again.acknowledged)} acknowledged; ` +
        `GenerateDataKey ${num(generated2)}, Decrypt ${num(unwrapped2)}`,
    );
    const total = await readStore(dataDir);
    // What the data-key hierarchy's model says (services/ingest/src/crypto/branch-keys.ts): a fresh store
    // needs one key per account plus the branch key; a restart needs only the branch key, since every account's
    // key already holds a copy sealed under it.
    const fresh = expectedKmsCalls({
      instances: 1,
      branchKeyVersions: 1,
      accountsWithoutCopy: options.accounts,
    });
    const restarted = expectedKmsCalls({ instances: 1, branchKeyVersions: 1, accountsWithoutCopy: 0 });
    console.log(
      `model: ${num(fresh)} key-provider calls for the fresh instance, ${num(restarted)} for the restarted one`,
    );

    return [
      {
        section: SECTION,
        name: `stored = acknowledged (${num(options.accounts)} accounts)`,
        value: `${num(total.stored)} / ${num(sent.acknowledged + again.acknowledged)}`,
        bar: 'equal',
        verdict:
          total.stored === sent.acknowledged + again.acknowledged && sent.acknowledged === urls.length
            ? 'PASS'
            : 'MISS',
      },
      atMost(SECTION, 'events under another account', total.misplaced, 0, ''),
      {
        section: SECTION,
        name: 'accounts with their own prefix',
        value: num(total.accounts),
        bar: `= ${num(options.accounts)}`,
        verdict: total.accounts === options.accounts ? 'PASS' : 'MISS',
      },
      predicted('data-key calls, fresh instance', generated + unwrapped1, fresh),
      predicted('data-key calls, restarted instance', generated2 + unwrapped2, restarted),
      atMost(SECTION, 'peak heap, instance 1', mb(stats1.peakHeap), HEAP_BAR_MB, ' MB'),
      info(SECTION, 'hits/s with every account active', num(urls.length / seconds)),
    ];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
