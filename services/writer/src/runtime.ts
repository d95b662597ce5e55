/**
 * Composition root of the writer: turns the validated environment into the object writer (Cloud Storage or
 * the local file tree), the group committer and the push handler. The Cloud Functions entry point and the
 * tests start here, so both run the same objects.
 */
import { join } from 'node:path';
import type { WriterEnv } from '../../../platform/contracts/writer-env';
import { createLogger, type Logger } from '../../shared/logger';
import { FileObjectWriter } from './adapters/file-object-writer';
import { GroupCommitter } from './core/group-commit';
import type { ObjectWriter } from './core/ports';
import { PushHandler } from './core/push-handler';

/** Everything a running writer is made of. */
export interface WriterRuntime {
  readonly env: WriterEnv;
  readonly logger: Logger;
  readonly objects: ObjectWriter;
  readonly committer: GroupCommitter;
  readonly handler: PushHandler;
  /** Writes whatever is batched and waits for it (on SIGTERM, and at the end of tests). */
  close(): Promise<void>;
}

/** Parts a caller (a test) may supply instead of the ones the environment selects. */
export interface WriterRuntimeOverrides {
  readonly logger?: Logger;
  readonly objects?: ObjectWriter;
}

/** Builds the runtime the environment describes. */
export async function createWriterRuntime(
  env: WriterEnv,
  overrides: WriterRuntimeOverrides = {},
): Promise<WriterRuntime> {
  const logger =
    overrides.logger ??
    createLogger({
      service: 'writer',
      level: env.TS_LOG_LEVEL,
      base: { stage: env.TS_STAGE, location: env.TS_LOCATION },
    });
  const objects =
    overrides.objects ??
    (env.TS_OBJECT_STORE === 'gcs'
      ? await (async () => {
          // Loaded only when selected: local runs and tests of the file store never load the Google client.
          const [{ Storage }, { GcsObjectWriter }] = await Promise.all([
            import('@google-cloud/storage'),
            import('./adapters/gcs-object-writer'),
          ]);
          const bucket = env.TS_EVENT_BUCKET;
          if (!bucket)
            throw new Error('unreachable: the environment schema requires TS_EVENT_BUCKET with gcs');
          return new GcsObjectWriter({ client: new Storage(), bucket });
        })()
      : new FileObjectWriter({ rootDir: join(env.TS_DATA_DIR, 'events') }));
  const committer = new GroupCommitter({
    writer: objects,
    maxWaitMs: env.TS_BATCH_MAX_WAIT_MS,
    maxRecords: env.TS_BATCH_MAX_RECORDS,
    logger,
  });
  const handler = new PushHandler({ committer, subscription: env.TS_EVENT_SUBSCRIPTION, logger });
  return { env, logger, objects, committer, handler, close: () => committer.flush() };
}
