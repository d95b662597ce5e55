/**
 * The writer's object adapters. Cloud Storage has no emulator here, so the Cloud Storage adapter is tested
 * against a stand-in of the client (only `bucket().file().save()`, recording each call); the file adapter
 * against a temporary folder, read back with the ingest FileSink's own reader to prove the layouts agree.
 */
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SaveOptions } from '@google-cloud/storage';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { FileObjectWriter } from '../../../services/writer/src/adapters/file-object-writer';
import {
  GcsObjectWriter,
  GcsWriteError,
  NDJSON_CONTENT_TYPE,
  type StorageClientLike,
} from '../../../services/writer/src/adapters/gcs-object-writer';
import { ObjectExistsError } from '../../../services/writer/src/core/ports';

/** A stand-in Storage client: records each save, and fails with what `failWith` returns. */
class FakeStorage implements StorageClientLike {
  readonly saves: { bucket: string; name: string; data: Buffer; options?: SaveOptions }[] = [];
  failWith: () => unknown = () => undefined;
  bucket(bucket: string) {
    return {
      file: (name: string) => ({
        save: async (data: Buffer, options?: SaveOptions) => {
          await Promise.resolve();
          const err = this.failWith();
          if (err) throw err;
          this.saves.push({ bucket, name, data, options });
        },
      }),
    };
  }
}

const KEY = 'account=acc_writer0001/dt=2026-12-03/20261203T080000123Z-abc.ndjson';

describe('GcsObjectWriter (stand-in client: no Cloud Storage emulator here)', () => {
  it('uploads in one request, as NDJSON, only if no object of that name exists', async () => {
    const client = new FakeStorage();
    await new GcsObjectWriter({ client, bucket: 'events-bucket' }).put(KEY, Buffer.from('{"a":1}\n'));
    expect(client.saves).toEqual([
      {
        bucket: 'events-bucket',
        name: KEY,
        data: Buffer.from('{"a":1}\n'),
        options: {
          resumable: false,
          contentType: NDJSON_CONTENT_TYPE,
          preconditionOpts: { ifGenerationMatch: 0 },
        },
      },
    ]);
  });

  it('reports a failed precondition (412) as an existing object', async () => {
    const client = new FakeStorage();
    client.failWith = () => Object.assign(new Error('conditionNotMet'), { code: 412 });
    await expect(
      new GcsObjectWriter({ client, bucket: 'b-1' }).put(KEY, Buffer.from('x\n')),
    ).rejects.toBeInstanceOf(ObjectExistsError);
  });

  it('wraps any other failure, keeping its cause', async () => {
    const client = new FakeStorage();
    const cause = Object.assign(new Error('backend unavailable'), { code: 503 });
    client.failWith = () => cause;
    const put = new GcsObjectWriter({ client, bucket: 'b-1' }).put(KEY, Buffer.from('x\n'));
    await expect(put).rejects.toBeInstanceOf(GcsWriteError);
    await expect(put).rejects.toMatchObject({
      cause,
      message: expect.stringContaining('gs://b-1/') as unknown,
    });
  });
});

describe('FileObjectWriter', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trackstack-writer-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("writes the FileSink's layout, which the FileSink's reader reads back, and leaves no temporary file", async () => {
    const writer = new FileObjectWriter({ rootDir: root });
    await writer.put(KEY, Buffer.from('{"a":1}\n{"a":2}\n'));
    const events = await readFileSinkEvents(root);
    expect(events.map((e) => [e.accountId, e.dt, e.data.toString()])).toEqual([
      ['acc_writer0001', '2026-12-03', '{"a":1}\n'],
      ['acc_writer0001', '2026-12-03', '{"a":2}\n'],
    ]);
    expect(await readdir(join(root, 'account=acc_writer0001', 'dt=2026-12-03'))).toEqual([
      '20261203T080000123Z-abc.ndjson',
    ]);
  });

  it('never overwrites an object', async () => {
    const writer = new FileObjectWriter({ rootDir: root });
    await mkdir(join(root, 'account=acc_writer0001', 'dt=2026-12-03'), { recursive: true });
    await writeFile(join(root, ...KEY.split('/')), 'first\n');
    await expect(writer.put(KEY, Buffer.from('second\n'))).rejects.toBeInstanceOf(ObjectExistsError);
    expect((await readFileSinkEvents(root)).map((e) => e.data.toString())).toEqual(['first\n']);
    expect(await readdir(join(root, 'account=acc_writer0001', 'dt=2026-12-03'))).toHaveLength(1);
  });

  it('refuses a key that would leave its root', async () => {
    const writer = new FileObjectWriter({ rootDir: root });
    await expect(writer.put('account=x/../../etc/passwd', Buffer.from('x'))).rejects.toThrow(/unsafe key/);
  });
});
