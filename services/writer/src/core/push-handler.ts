/**
 * Answers one Pub/Sub push request, whatever server carries it (the Functions Framework, a plain Node
 * server): checks the subscription and the message, hands the record to the {@link GroupCommitter}, and turns
 * the outcome into the status Pub/Sub acts on.
 *
 * | status | when                                   | what Pub/Sub does                                       |
 * | ------ | -------------------------------------- | ------------------------------------------------------- |
 * | 204    | the record's object is written         | acknowledges the message                                |
 * | 400    | the message is malformed (field named) | redelivers, then moves it to the dead-letter topic      |
 * | 403    | another subscription pushed it         | (not ours: that subscription's own retry policy)        |
 * | 405    | not a POST                             | (Pub/Sub always POSTs)                                  |
 * | 500    | the object's write failed              | redelivers, then moves it to the dead-letter topic      |
 *
 * A malformed message is refused, never acknowledged: after the retries it is kept in the dead-letter topic
 * for an operator, not dropped.
 */
import type { Logger } from '../../../shared/logger';
import { parsePush } from './envelope';
import type { GroupCommitter } from './group-commit';

/** The answer to one push. */
export interface PushReply {
  /** HTTP status. */
  readonly status: 204 | 400 | 403 | 405 | 500;
  /** JSON body, absent with 204. */
  readonly body?: { readonly error: string; readonly field?: string };
}

/** Properties of {@link PushHandler}. */
export interface PushHandlerProps {
  /** The batching writer. */
  readonly committer: GroupCommitter;
  /** The only subscription accepted, `projects/<p>/subscriptions/<s>`. */
  readonly subscription: string;
  /**
   * Where refusals are logged.
   * @default none
   */
  readonly logger?: Logger;
}

/** Validates pushes and answers each once its record is stored (or could not be). */
export class PushHandler {
  private readonly committer: GroupCommitter;
  private readonly subscription: string;
  private readonly logger?: Logger;

  constructor(props: PushHandlerProps) {
    this.committer = props.committer;
    this.subscription = props.subscription;
    this.logger = props.logger;
  }

  /**
   * Handles one request.
   * @param method the HTTP method
   * @param body the request body parsed from JSON (anything else is refused with 400)
   */
  async handle(method: string | undefined, body: unknown): Promise<PushReply> {
    if (method !== 'POST') return { status: 405, body: { error: 'only POST (a Pub/Sub push) is accepted' } };
    // The subscription is checked before the message: a stranger learns nothing about what we expect.
    const named = (body as { subscription?: unknown } | null | undefined)?.subscription;
    if (typeof named === 'string' && named !== this.subscription) {
      this.logger?.warn({ subscription: named }, 'push from another subscription refused');
      return { status: 403, body: { error: 'this subscription may not push here' } };
    }
    const parsed = parsePush(body);
    if (!parsed.ok) {
      const messageId = (body as { message?: { messageId?: unknown } } | null | undefined)?.message
        ?.messageId;
      this.logger?.warn(
        { field: parsed.field, messageId: typeof messageId === 'string' ? messageId : undefined },
        `malformed push refused: ${parsed.field} ${parsed.message}`,
      );
      return { status: 400, body: { error: `${parsed.field} ${parsed.message}`, field: parsed.field } };
    }
    try {
      await this.committer.submit(parsed.record);
      return { status: 204 };
    } catch {
      // The committer logged the failure once for the whole group; each push only learns it failed.
      return { status: 500, body: { error: 'the event could not be stored; it will be redelivered' } };
    }
  }
}
