/**
 * Purge receipts and the operator's reason that a customer's deletion request carries into one.
 */
import { expiryDates } from './eligibility';
import type { AccountState, PurgeProgress, PurgeReceipt } from './model';

/** Default retention of a receipt in the audit store: 7 years (2,557 days), a common bar for audit records. */
export const DEFAULT_RECEIPT_RETENTION_DAYS = 2557;

/** Longest reason accepted, in characters. */
export const MAX_REASON_LENGTH = 500;

const EMAIL = /[^\s@<>()[\]]+@[^\s@<>()[\]]+\.[^\s@<>()[\]]+/;

/**
 * Checks the reason of a deletion request. It is kept for years in a receipt that cannot be deleted, so
 * it must be short, printable and free of e-mail addresses: a ticket number, not the customer's details.
 * @returns a problem for the operator, or `undefined` when the reason is acceptable
 */
export function reasonProblem(reason: string): string | undefined {
  const trimmed = reason.trim();
  if (trimmed.length < 3) return 'the reason must have at least 3 characters (e.g. a ticket number)';
  if (trimmed.length > MAX_REASON_LENGTH)
    return `the reason must have at most ${MAX_REASON_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return 'the reason must not contain control characters';
  if (EMAIL.test(trimmed)) {
    return 'the reason must not contain an e-mail address: it is kept in a permanent receipt, so give a ticket reference instead of personal data';
  }
  return undefined;
}

/**
 * Builds the receipt of a finished purge from its persisted progress alone, so that writing it again
 * after a crash produces the very same document.
 */
export function buildReceipt(props: {
  readonly account: AccountState;
  readonly progress: PurgeProgress;
  readonly runId: string;
  readonly directory: string;
  readonly objectStores: Readonly<Record<string, string>>;
}): PurgeReceipt {
  const { account, progress } = props;
  if (!progress.finishedAt) throw new Error(`purge of ${account.accountId} has no finishedAt yet`);
  const expiredAtMs = Date.parse(account.expiredAt ?? '');
  if (!Number.isFinite(expiredAtMs)) throw new Error(`account ${account.accountId} has no valid expiredAt`);
  const dates = expiryDates(expiredAtMs, expiredAtMs);
  const receipt: PurgeReceipt = {
    kind: 'trackstack.purge-receipt',
    version: 1,
    accountId: account.accountId,
    purgeId: progress.purgeId,
    runId: props.runId,
    runIds: [...progress.runIds],
    trigger: progress.trigger,
    ...(progress.reason !== undefined ? { reason: progress.reason } : {}),
    expiredAt: new Date(dates.expiredAtMs).toISOString(),
    eligibleAt: new Date(dates.eligibleAtMs).toISOString(),
    deadline: new Date(dates.deadlineMs).toISOString(),
    startedAt: progress.startedAt,
    finishedAt: progress.finishedAt,
    counts: progress.counts,
    stores: { directory: props.directory, objects: { ...props.objectStores } },
  };
  return receipt;
}

/** The receipt's canonical text: stable key order, so equal receipts are equal bytes. */
export function receiptJson(receipt: PurgeReceipt): string {
  return `${JSON.stringify(sortKeys(receipt), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** The receipt's path inside a receipt store: `receipts/<accountId>/<purgeId>.json`. */
export function receiptKey(accountId: string, purgeId: string): string {
  return `receipts/${accountId}/${purgeId}.json`;
}
