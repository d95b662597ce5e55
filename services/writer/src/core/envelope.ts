/**
 * The Pub/Sub push request, validated: the JSON body Pub/Sub POSTs for each message of a push subscription
 * (`{ message: { data, attributes, messageId, publishTime }, subscription }`), narrowed to what the writer
 * stores. The ingest PubSubSink sets the `accountId` and `dt` attributes on every message; a message without
 * them, or with a body that cannot be one line of the event store, is refused field by field.
 */
import { z } from 'zod';
import { ID_PATTERNS } from '../../../../platform';

/** The attributes the ingest sink sets (`PUBSUB_ATTRIBUTES` of `services/ingest`, which a service may not import). */
export const MESSAGE_ATTRIBUTES = { accountId: 'accountId', dt: 'dt' } as const;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True when `value` is `yyyy-mm-dd` and names a day of the calendar (not 2024-02-30). */
export function isCalendarDay(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const t = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === value;
}

const pushSchema = z.object({
  message: z.object({
    data: z
      .string({ error: 'must be a base64 string' })
      .min(1, 'must not be empty')
      .regex(BASE64, 'must be base64'),
    attributes: z.object(
      {
        [MESSAGE_ATTRIBUTES.accountId]: z
          .string({ error: 'is required' })
          .regex(ID_PATTERNS.account, 'must be an account id (acc_ and 8 to 32 lowercase letters or digits)'),
        [MESSAGE_ATTRIBUTES.dt]: z
          .string({ error: 'is required' })
          .refine(isCalendarDay, 'must be a calendar day, yyyy-mm-dd'),
      },
      { error: 'is required' },
    ),
    messageId: z.string({ error: 'is required' }).min(1, 'must not be empty').max(256),
    // Only used to name objects in time order, so a time it cannot read is ignored rather than refused.
    publishTime: z.string().optional(),
  }),
  subscription: z.string({ error: 'is required' }).min(1),
});

/** One validated message, decoded. */
export interface PushedRecord {
  /** Pub/Sub's id of the message, unique within the topic: the same on every redelivery. */
  readonly messageId: string;
  readonly accountId: string;
  /** The UTC day of the event, `yyyy-mm-dd`. */
  readonly dt: string;
  /** The record as the ingest service encoded it: one JSON line, ending with a newline. */
  readonly data: Buffer;
  /** When Pub/Sub accepted the message (milliseconds since the epoch), if the push said so. */
  readonly publishTimeMs?: number;
}

/** The outcome of {@link parsePush}. */
export type PushParse =
  | { readonly ok: true; readonly subscription: string; readonly record: PushedRecord }
  | { readonly ok: false; readonly field: string; readonly message: string };

/**
 * Validates a push body (already parsed from JSON) and decodes its message. The first problem is reported
 * with the dotted path of its field, e.g. `message.attributes.dt`.
 */
export function parsePush(body: unknown): PushParse {
  const parsed = pushSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, field: issue.path.map(String).join('.') || '(body)', message: issue.message };
  }
  const m = parsed.data.message;
  const data = Buffer.from(m.data, 'base64');
  // A record is one line of the object: a newline inside it would split it in two for every reader.
  const nl = data.indexOf(0x0a);
  if (nl >= 0 && nl !== data.length - 1) {
    return { ok: false, field: 'message.data', message: 'must be one line (a newline only at its end)' };
  }
  const accountId = m.attributes[MESSAGE_ATTRIBUTES.accountId]!;
  const dt = m.attributes[MESSAGE_ATTRIBUTES.dt]!;
  return {
    ok: true,
    subscription: parsed.data.subscription,
    record: {
      messageId: m.messageId,
      accountId,
      dt,
      data: nl < 0 ? Buffer.concat([data, Buffer.from('\n')]) : data,
      ...(m.publishTime && Number.isFinite(Date.parse(m.publishTime))
        ? { publishTimeMs: Date.parse(m.publishTime) }
        : {}),
    },
  };
}
