/**
 * Purge receipts and the operator's reason that a customer's deletion request carries into one.
 */
import { parseIsoInstant, RECEIPTS } from '../../../../platform';
import { expiryDates, sweepDates } from './eligibility';
import type {
  AccountState,
  AuditReceipt,
  PurgeProgress,
  PurgeReceipt,
  SweepProgress,
  SweepReceipt,
} from './model';

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
  const expiredAtMs = parseIsoInstant(account.expiredAt);
  if (expiredAtMs === undefined) throw new Error(`account ${account.accountId} has no valid expiredAt`);
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

/**
 * Builds the receipt of a finished sweep from the purged account's record and the sweep's persisted
 * progress alone, so that writing it again after a crash produces the very same document.
 */
export function buildSweepReceipt(props: {
  readonly account: AccountState;
  readonly progress: SweepProgress;
  readonly runId: string;
  readonly directory: string;
  readonly objectStores: Readonly<Record<string, string>>;
}): SweepReceipt {
  const { account, progress } = props;
  if (!progress.finishedAt) throw new Error(`sweep of ${account.accountId} has no finishedAt yet`);
  if (!account.purge) throw new Error(`account ${account.accountId} has no purge for a sweep to complete`);
  const expiredAtMs = parseIsoInstant(account.expiredAt);
  const purgedAtMs = parseIsoInstant(account.purgedAt);
  if (expiredAtMs === undefined || purgedAtMs === undefined)
    throw new Error(`account ${account.accountId} has no valid expiredAt and purgedAt`);
  const dates = sweepDates(expiredAtMs, purgedAtMs);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    kind: 'trackstack.purge-sweep-receipt',
    version: 1,
    accountId: account.accountId,
    purgeId: account.purge.purgeId,
    purgeReceipt: account.purge.receipt,
    sweepId: progress.sweepId,
    runId: props.runId,
    runIds: [...progress.runIds],
    expiredAt: iso(expiredAtMs),
    purgedAt: iso(purgedAtMs),
    dueAt: iso(dates.dueAtMs),
    deadline: iso(dates.deadlineMs),
    startedAt: progress.startedAt,
    finishedAt: progress.finishedAt,
    counts: progress.counts,
    stores: { directory: props.directory, objects: { ...props.objectStores } },
  };
}

/** The receipt's canonical text: stable key order, so equal receipts are equal bytes. */
export function receiptJson(receipt: AuditReceipt): string {
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

/** The path of any audit receipt inside a receipt store. */
export function auditReceiptKey(receipt: AuditReceipt): string {
  return receipt.kind === 'trackstack.purge-sweep-receipt'
    ? RECEIPTS.sweepKey(receipt.accountId, receipt.purgeId)
    : RECEIPTS.purgeKey(receipt.accountId, receipt.purgeId);
}
