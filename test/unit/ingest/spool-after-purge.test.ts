/**
 * Events spooled to disk while the sink was down drain later, maybe after their account was purged. The
 * service must drop those at drain time (and the purge sweeps the account's prefixes once more, see
 * test/unit/purge), or a purged account's events would come back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirectory } from '../../../services/shared/directory/local-directory';
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { createRuntime } from '../../../services/ingest/src/runtime';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import type { SinkRecord } from '../../../services/ingest/src/sinks/sink';
import { DiskSpool } from '../../../services/ingest/src/sinks/spool';
import { accountRecord } from '../../support/ingest-factories';

const record = (accountId: string, id: string): SinkRecord => ({
  accountId,
  dt: '2026-11-30',
  data: Buffer.from(`${JSON.stringify({ id, accountId, url: 'https://shop.example/p' })}\n`),
});

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-spool-purge-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

test('a spool drained after a purge delivers only the accounts that still exist unpurged', async () => {
  const directory = new LocalDirectory({ dataDir });
  await directory.putAccount(accountRecord('acc_keepme0001'));
  await directory.putAccount(
    accountRecord('acc_purged0001', {
      status: 'purged',
      expiredAt: '2026-08-01T00:00:00Z',
      purgedAt: '2026-09-15T00:00:00Z',
    }),
  );
  // Left by an earlier process that spooled while the sink was down.
  const spool = new DiskSpool({ dir: join(dataDir, 'spool') });
  await spool.append([
    record('acc_keepme0001', 'k1'),
    record('acc_purged0001', 'p1'),
    record('acc_vanished01', 'v1'),
    record('acc_keepme0001', 'k2'),
  ]);
  await spool.append([record('acc_purged0001', 'p2')]);

  const runtime = await createRuntime(parseIngestEnv({ TS_DATA_DIR: dataDir, TS_LOG_LEVEL: 'silent' }));
  // The runtime drains the spool at start; close() finishes the drain.
  await runtime.close();

  const delivered = await readFileSinkEvents(join(dataDir, 'events'));
  expect(delivered.map((e) => (JSON.parse(e.data.toString()) as { id: string }).id).sort()).toEqual([
    'k1',
    'k2',
  ]);
  expect(new DiskSpool({ dir: join(dataDir, 'spool') }).depth).toBe(0);
  expect(runtime.metrics.snapshot().spoolDroppedRecords).toBe(3);
});

test('when the directory cannot say, spooled records stay spooled', async () => {
  const spool = new DiskSpool({ dir: join(dataDir, 'spool') });
  await spool.append([record('acc_keepme0001', 'k1')]);
  const broken = new LocalDirectory({ dataDir });
  // A directory file that does not parse: every read fails.
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dataDir, 'directory.json'), 'not json');
  const runtime = await createRuntime(parseIngestEnv({ TS_DATA_DIR: dataDir, TS_LOG_LEVEL: 'silent' }), {
    directory: broken,
  });
  await runtime.close();
  expect(await readFileSinkEvents(join(dataDir, 'events')).catch(() => [])).toEqual([]);
  expect(new DiskSpool({ dir: join(dataDir, 'spool') }).depth).toBe(1);
});
