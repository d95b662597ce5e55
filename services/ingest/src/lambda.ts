/**
 * AWS Lambda entry of the ingest service (Function URL or API Gateway events), through
 * `@codegenie/serverless-express`. The runtime is built once per execution environment, at cold start.
 *
 * The adapter hands each event to the runtime's `listener`, the same lean pixel path in front of the express
 * app that the node server and Cloud Functions run: `GET /p.gif` skips express's routing and request
 * decoration, every other route falls through to express unchanged. So the three entries serve every route
 * with the same code.
 */
import serverlessExpress from '@codegenie/serverless-express';
import type { Context, Handler } from 'aws-lambda';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { createRuntime, type Runtime } from './runtime';

/** Options of {@link lambdaHandler}. */
export interface LambdaHandlerOptions {
  /**
   * Builds the runtime at the first invocation.
   * @default `createRuntime(parseIngestEnv(process.env))`, from this execution environment's variables
   */
  readonly createRuntime?: () => Promise<Runtime>;
}

/**
 * The listener as the adapter wants an app: it picks its express integration for a function with a
 * `handle(req, res)` method, and that integration only calls `handle`.
 */
function asAdapterApp(listener: RequestListener): RequestListener & { handle: RequestListener } {
  return Object.assign((req: IncomingMessage, res: ServerResponse) => listener(req, res), {
    handle: listener,
  });
}

/** A Lambda handler serving every route of the ingest service, with its runtime built once. */
export function lambdaHandler(options: LambdaHandlerOptions = {}): Handler<unknown, unknown> {
  const build = options.createRuntime ?? (() => createRuntime(parseIngestEnv(process.env)));
  let runtime: Promise<Runtime> | undefined;
  let proxy: Handler | undefined;
  const init = async (): Promise<Handler> => {
    runtime ??= build();
    let rt: Runtime;
    try {
      rt = await runtime;
    } catch (err) {
      // Built again at the next invocation instead of being cached as failed (an unreachable secret, say).
      runtime = undefined;
      throw err;
    }
    proxy ??= serverlessExpress({
      app: asAdapterApp(rt.listener),
      binarySettings: { contentTypes: ['image/gif'] },
    }) as Handler;
    return proxy;
  };
  return async (event: unknown, context: Context): Promise<unknown> => {
    const proxied = await init();
    return proxied(event, context, () => undefined);
  };
}

/** The Lambda handler. */
export const handler = lambdaHandler();
