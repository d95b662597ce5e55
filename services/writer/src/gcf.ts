/**
 * Cloud Functions (2nd gen) entry point of the writer: the HTTP function the regional event topic's push
 * subscription calls, once per message. The Functions Framework hands an express request whose body it has
 * parsed from JSON. The runtime is built on the first request and shared by every concurrent one, which is
 * what lets the group commit put many pushes into one object (the function must allow many concurrent
 * requests per instance).
 */
import * as functions from '@google-cloud/functions-framework';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { parseWriterEnv } from '../../../platform/contracts/writer-env';
import { createLogger } from '../../shared/logger';
import { sendReply } from './http-listener';
import { createWriterRuntime, type WriterRuntime } from './runtime';

let runtime: Promise<WriterRuntime> | undefined;

function start(): Promise<WriterRuntime> {
  runtime ??= (async () => {
    const rt = await createWriterRuntime(parseWriterEnv(process.env));
    // Cloud Run sends SIGTERM before stopping an instance: what is batched is written and answered first.
    process.once('SIGTERM', () => void rt.close());
    return rt;
  })();
  return runtime;
}

/** The HTTP function: one Pub/Sub push per request, answered once its record is stored (see core). */
export const handler: HttpFunction = async (req, res) => {
  let rt: WriterRuntime;
  try {
    rt = await start();
  } catch (err) {
    runtime = undefined;
    // A bad environment: every push gets 500 and is redelivered (then dead-lettered) until it is fixed.
    createLogger({ service: 'writer' }).error({ err }, 'the writer cannot start');
    sendReply(res, { status: 500, body: { error: 'the writer is misconfigured' } });
    return;
  }
  sendReply(res, await rt.handler.handle(req.method, req.body as unknown));
};

functions.http('handler', handler);
