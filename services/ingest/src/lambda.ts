/**
 * AWS Lambda entry of the ingest service (Function URL or API Gateway events), through
 * `@codegenie/serverless-express`. The runtime is built once per execution environment, at cold start.
 */
import serverlessExpress from '@codegenie/serverless-express';
import type { Context, Handler } from 'aws-lambda';
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { createRuntime, type Runtime } from './runtime';

let runtime: Promise<Runtime> | undefined;
let proxy: Handler | undefined;

async function init(): Promise<Handler> {
  runtime ??= createRuntime(parseIngestEnv(process.env));
  const rt = await runtime;
  proxy ??= serverlessExpress({
    app: rt.app,
    binarySettings: { contentTypes: ['image/gif'] },
  }) as Handler;
  return proxy;
}

/** The Lambda handler. */
export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  const proxied = await init();
  return proxied(event, context, () => undefined);
};
