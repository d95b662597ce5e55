/**
 * The Cloud Functions entry point, called as the Functions Framework calls it (an express-like request whose
 * JSON body is already parsed, and a response), with the file store in a temporary folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import { readFileSinkEvents } from '../../../services/ingest/src/sinks/file-sink';
import { pushBody, SUBSCRIPTION } from './support';

/** A response that records what the handler sent. */
function response(): { res: Response; sent: () => { status?: number; body: string } } {
  let status: number | undefined;
  let body = '';
  const res = {
    writeHead(code: number) {
      status = code;
      return res;
    },
    end(text?: string) {
      body = text ?? '';
      return res;
    },
  };
  return { res: res as unknown as Response, sent: () => ({ status, body }) };
}

const request = (body: unknown) => ({ method: 'POST', body }) as Request;
const saved = { ...process.env };
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trackstack-writer-gcf-'));
});
afterEach(async () => {
  process.env = { ...saved };
  await rm(dataDir, { recursive: true, force: true });
});

/** A fresh copy of the module: its runtime is built once per module, from the environment of its first call. */
async function loadHandler(): Promise<HttpFunction> {
  let handler!: HttpFunction;
  await jest.isolateModulesAsync(async () => {
    ({ handler } = await import('../../../services/writer/src/gcf'));
  });
  return handler;
}

describe('the writer Cloud Function', () => {
  it('stores a pushed event and answers 204', async () => {
    Object.assign(process.env, {
      TS_DATA_DIR: dataDir,
      TS_LOG_LEVEL: 'silent',
      TS_EVENT_SUBSCRIPTION: SUBSCRIPTION,
      TS_BATCH_MAX_WAIT_MS: '5',
    });
    const handler = await loadHandler();
    const { res, sent } = response();
    await handler(request(pushBody({ messageId: 'gcf-1' })), res);
    expect(sent().status).toBe(204);
    const events = await readFileSinkEvents(join(dataDir, 'events'));
    expect(events.map((e) => e.data.toString())).toEqual(['{"eventId":"ev-gcf-1"}\n']);
  });

  it('answers 500, storing nothing, while its environment is invalid', async () => {
    Object.assign(process.env, { TS_DATA_DIR: dataDir, TS_LOG_LEVEL: 'silent' });
    delete process.env.TS_EVENT_SUBSCRIPTION;
    const handler = await loadHandler();
    const { res, sent } = response();
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await handler(request(pushBody()), res);
    } finally {
      write.mockRestore();
    }
    expect(sent()).toEqual({ status: 500, body: JSON.stringify({ error: 'the writer is misconfigured' }) });
    expect(await readFileSinkEvents(join(dataDir, 'events'))).toEqual([]);
  });
});
