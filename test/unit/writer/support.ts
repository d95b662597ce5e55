/** Push envelopes and a recording object writer for the writer's unit tests. */
import type { ObjectWriter } from '../../../services/writer/src/core/ports';

/** The subscription the writer under test accepts. */
export const SUBSCRIPTION = 'projects/trackstack-test/subscriptions/trackstack-dev-europe-events-writer';

/** A push body as Pub/Sub sends it, for one event record. */
export function pushBody(
  over: {
    readonly messageId?: string;
    readonly accountId?: string;
    readonly dt?: string;
    readonly record?: object;
    readonly publishTime?: string;
    readonly subscription?: string;
  } = {},
): { message: Record<string, unknown>; subscription: string } {
  const messageId = over.messageId ?? '1';
  const data = Buffer.from(JSON.stringify(over.record ?? { eventId: `ev-${messageId}` }) + '\n');
  return {
    message: {
      data: data.toString('base64'),
      attributes: { accountId: over.accountId ?? 'acc_writer0001', dt: over.dt ?? '2026-12-03' },
      messageId,
      message_id: messageId,
      publishTime: over.publishTime ?? '2026-12-03T08:00:00.123Z',
    },
    subscription: over.subscription ?? SUBSCRIPTION,
  };
}

/** An {@link ObjectWriter} that keeps objects in memory, failing the keys `fail` matches. */
export class MemoryObjectWriter implements ObjectWriter {
  readonly objects = new Map<string, Buffer>();
  readonly calls: string[] = [];
  fail: (key: string) => boolean = () => false;

  async put(key: string, body: Buffer): Promise<void> {
    this.calls.push(key);
    await Promise.resolve();
    if (this.fail(key)) throw new Error(`injected failure of ${key}`);
    this.objects.set(key, body);
  }

  /** The records of every object under `prefix`, parsed. */
  records(prefix = ''): unknown[] {
    return [...this.objects]
      .filter(([k]) => k.startsWith(prefix))
      .flatMap(([, body]) =>
        body
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as unknown),
      );
  }
}
