/**
 * The group commit and the push handler, over an in-memory object writer: grouping by account and day, the
 * batch limits, acknowledgement only after the write, de-duplication by message id, and the statuses
 * Pub/Sub acts on.
 */
import { EVENT_OBJECTS } from '../../../platform';
import { parsePush, type PushedRecord } from '../../../services/writer/src/core/envelope';
import { GroupCommitter, GroupWriteError, objectName } from '../../../services/writer/src/core/group-commit';
import { ObjectExistsError } from '../../../services/writer/src/core/ports';
import { PushHandler } from '../../../services/writer/src/core/push-handler';
import { MemoryObjectWriter, pushBody, SUBSCRIPTION } from './support';

function record(messageId: string, accountId = 'acc_writer0001', dt = '2026-12-03'): PushedRecord {
  const parsed = parsePush(pushBody({ messageId, accountId, dt }));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.record;
}

function setup(props: { maxWaitMs?: number; maxRecords?: number; maxBytes?: number } = {}) {
  const objects = new MemoryObjectWriter();
  const committer = new GroupCommitter({ writer: objects, maxWaitMs: 20, ...props });
  const handler = new PushHandler({ committer, subscription: SUBSCRIPTION });
  return { objects, committer, handler };
}

describe('GroupCommitter', () => {
  it('writes one object per (account, day) of a batch, each holding exactly its records', async () => {
    const { objects, handler } = setup();
    const pushes = [
      pushBody({ messageId: 'a1', accountId: 'acc_writer0001' }),
      pushBody({ messageId: 'b1', accountId: 'acc_writer0002' }),
      pushBody({ messageId: 'a2', accountId: 'acc_writer0001' }),
      pushBody({ messageId: 'a3', accountId: 'acc_writer0001', dt: '2026-12-02' }),
    ];
    const replies = await Promise.all(pushes.map((p) => handler.handle('POST', p)));
    expect(replies.map((r) => r.status)).toEqual([204, 204, 204, 204]);
    expect(objects.calls).toHaveLength(3);
    const keyOf = (acc: string, dt: string) =>
      [...objects.objects.keys()].filter((k) => k.startsWith(EVENT_OBJECTS.partitionPrefix(acc, dt)));
    expect(keyOf('acc_writer0001', '2026-12-03')).toHaveLength(1);
    expect(objects.records(EVENT_OBJECTS.partitionPrefix('acc_writer0001', '2026-12-03'))).toEqual([
      { eventId: 'ev-a1' },
      { eventId: 'ev-a2' },
    ]);
    expect(objects.records(EVENT_OBJECTS.accountPrefix('acc_writer0002'))).toEqual([{ eventId: 'ev-b1' }]);
    expect(objects.records(EVENT_OBJECTS.partitionPrefix('acc_writer0001', '2026-12-02'))).toEqual([
      { eventId: 'ev-a3' },
    ]);
    for (const key of objects.objects.keys())
      expect(key).toMatch(/^account=acc_writer000\d\/dt=2026-12-0\d\/\d{8}T\d{9}Z-[0-9a-f]{32}\.ndjson$/);
  });

  it('answers no push before its object is written', async () => {
    const { objects, committer } = setup({ maxWaitMs: 50 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const put = objects.put.bind(objects);
    objects.put = async (k, b) => {
      await gate;
      await put(k, b);
    };
    let answered = false;
    const done = committer.submit(record('m1')).then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    release();
    await done;
    expect(answered).toBe(true);
    expect(objects.objects.size).toBe(1);
  });

  it('closes a batch at maxRecords without waiting for the timer', async () => {
    const { objects, committer } = setup({ maxWaitMs: 60_000, maxRecords: 3 });
    const started = Date.now();
    await Promise.all(['1', '2', '3'].map((id) => committer.submit(record(id))));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(objects.calls).toHaveLength(1);
  });

  it('starts a new batch rather than grow one past maxBytes', async () => {
    const one = record('x').data.length;
    const { objects, committer } = setup({ maxBytes: one * 2 + 1 });
    await Promise.all(['1', '2', '3'].map((id) => committer.submit(record(id))));
    expect(objects.calls).toHaveLength(2);
    expect(objects.records()).toHaveLength(3);
  });

  it('waits at most maxWaitMs for a batch to fill', async () => {
    const { objects, committer } = setup({ maxWaitMs: 30 });
    const started = Date.now();
    await committer.submit(record('lonely'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(objects.calls).toHaveLength(1);
  });

  it('stores a message pushed twice in one batch once, and answers both pushes', async () => {
    const { objects, committer, handler } = setup();
    const replies = await Promise.all([
      handler.handle('POST', pushBody({ messageId: 'dup' })),
      handler.handle('POST', pushBody({ messageId: 'dup' })),
      handler.handle('POST', pushBody({ messageId: 'other' })),
    ]);
    expect(replies.map((r) => r.status)).toEqual([204, 204, 204]);
    expect(objects.records()).toEqual([{ eventId: 'ev-dup' }, { eventId: 'ev-other' }]);
    expect(committer.stats).toMatchObject({ objects: 1, records: 2, duplicates: 1 });
  });

  it('answers 500 to every push of a group whose write failed, and 204 to the other groups', async () => {
    const { objects, committer, handler } = setup();
    objects.fail = (key) => key.startsWith(EVENT_OBJECTS.accountPrefix('acc_writerfail'));
    const replies = await Promise.all([
      handler.handle('POST', pushBody({ messageId: 'f1', accountId: 'acc_writerfail' })),
      handler.handle('POST', pushBody({ messageId: 'ok', accountId: 'acc_writer0001' })),
      handler.handle('POST', pushBody({ messageId: 'f2', accountId: 'acc_writerfail' })),
    ]);
    expect(replies.map((r) => r.status)).toEqual([500, 204, 500]);
    expect(replies[0]?.body?.error).toMatch(/redelivered/);
    expect([...objects.objects.keys()].some((k) => k.includes('acc_writerfail'))).toBe(false);
    expect(committer.stats).toMatchObject({ objects: 1, records: 1, failedGroups: 1 });
    await expect(committer.submit(record('f3', 'acc_writerfail'))).rejects.toBeInstanceOf(GroupWriteError);
  });

  it('acknowledges a group redelivered whole, whose object an earlier delivery wrote, without a copy', async () => {
    const { objects, committer } = setup();
    await Promise.all([committer.submit(record('r1')), committer.submit(record('r2'))]);
    const put = objects.put.bind(objects);
    let taken = 0;
    objects.put = async (key, body) => {
      if (objects.objects.has(key)) {
        taken += 1;
        throw new ObjectExistsError(key);
      }
      await put(key, body);
    };
    await expect(
      Promise.all([committer.submit(record('r2')), committer.submit(record('r1'))]),
    ).resolves.toBeDefined();
    expect(objects.objects.size).toBe(1);
    expect(taken).toBe(1);
    expect(committer.stats).toMatchObject({ objects: 2, records: 4, failedGroups: 0 });
  });

  it('flush() writes what is batched at once', async () => {
    const { objects, committer } = setup({ maxWaitMs: 60_000 });
    const pending = committer.submit(record('f'));
    await committer.flush();
    await pending;
    expect(objects.calls).toHaveLength(1);
  });

  it('refuses nonsensical limits', () => {
    const writer = new MemoryObjectWriter();
    expect(() => new GroupCommitter({ writer, maxRecords: 0 })).toThrow(/maxRecords/);
    expect(() => new GroupCommitter({ writer, maxWaitMs: -1 })).toThrow(/maxWaitMs/);
  });
});

describe('objectName', () => {
  it('is the same for the same messages in any order, and differs for other messages', () => {
    const a = objectName([record('1'), record('2')]);
    expect(objectName([record('2'), record('1')])).toBe(a);
    expect(objectName([record('1'), record('3')])).not.toBe(a);
    expect(a.startsWith('20261203T080000123Z-')).toBe(true);
  });
});

describe('PushHandler', () => {
  it('refuses a push of another subscription with 403, before reading the message', async () => {
    const { objects, handler } = setup();
    const reply = await handler.handle('POST', {
      subscription: 'projects/someone-else/subscriptions/theirs',
      message: 'not even a message',
    });
    expect(reply.status).toBe(403);
    expect(objects.calls).toHaveLength(0);
  });

  it('refuses a malformed message with 400 naming the field, storing nothing', async () => {
    const { objects, handler } = setup();
    const body = pushBody({ dt: '2026-02-31' });
    const reply = await handler.handle('POST', body);
    expect(reply).toEqual({
      status: 400,
      body: {
        field: 'message.attributes.dt',
        error: 'message.attributes.dt must be a calendar day, yyyy-mm-dd',
      },
    });
    expect(objects.calls).toHaveLength(0);
  });

  it('refuses anything but POST with 405', async () => {
    const { handler } = setup();
    expect((await handler.handle('GET', undefined)).status).toBe(405);
  });
});
