/**
 * One account's purge: who may claim it (an eligible account on schedule; any expired one on a
 * customer's request, once checked), and its steps in order: crypto-shred (`shred-step.ts`), every object
 * version and delete marker under `account=<id>/` in every location (`objects-step.ts`), the account's
 * other directory items (`directory-step.ts`), then the receipt and the account marked purged
 * (`receipt-step.ts`). The claim, lease and progress are the ledger's (`progress-ledger.ts`).
 */
import { ID_PATTERNS } from '../../../../platform';
import { deleteDirectoryItems } from './directory-step';
import { eligibility } from './eligibility';
import { PurgeRequestError } from './errors';
import type { AccountState, PurgeProgress, PurgeTrigger } from './model';
import { emptyEventStores } from './objects-step';
import type { PurgeDirectory } from './ports';
import type { ClaimRule, ProgressLedger, RunContext, StepPlan } from './progress-ledger';
import { buildReceipt } from './receipt';
import { writeReceipt } from './receipt-step';
import type { AccountOutcome } from './run-report';
import { shredDataKeys } from './shred-step';

/**
 * A deletion request is refused until this long after expiry: the ingest service may accept hits for up
 * to 60 s after expiry (its status cache) and Firehose buffers them for up to 15 minutes, so data can
 * still be arriving. Purging before then could leave late objects behind.
 */
export const REQUEST_SETTLE_MS = 20 * 60_000;

/** Claims the account (lease), runs its remaining purge steps, and reports. */
export function purgeAccount(
  ledger: ProgressLedger<PurgeProgress>,
  ctx: RunContext,
  accountId: string,
  trigger: PurgeTrigger,
  reason: string | undefined,
): Promise<AccountOutcome> {
  return ledger.work(ctx, accountId, purgeClaim(trigger, reason), PURGE_PLAN);
}

/**
 * Checks a deletion request before anything changes.
 * @returns the account, which is not active; an expired one also has an expiry that can be judged, at
 *   least {@link REQUEST_SETTLE_MS} ago (a purged one is reported as such, not purged again)
 * @throws PurgeRequestError for a malformed or unknown account id, an active account, an expiry that
 *   cannot be judged, or one less than {@link REQUEST_SETTLE_MS} ago
 */
export async function checkRequest(
  directory: PurgeDirectory,
  accountId: string,
  nowMs: number,
): Promise<AccountState> {
  if (!ID_PATTERNS.account.test(accountId)) {
    throw new PurgeRequestError(
      'invalid-account-id',
      `"${accountId}" is not an account id (acc_ followed by 8 to 32 lowercase letters or digits)`,
    );
  }
  const account = await directory.getAccount(accountId);
  if (!account) {
    throw new PurgeRequestError(
      'unknown-account',
      `account ${accountId} does not exist in ${directory.description}`,
    );
  }
  if (account.status === 'active') {
    throw new PurgeRequestError(
      'active-account',
      `account ${accountId} is active: expire it first (so no new data arrives), then purge it`,
    );
  }
  if (account.status === 'expired') {
    const standing = eligibility(account, nowMs);
    if (standing.kind === 'invalid') {
      throw new PurgeRequestError(
        'invalid-expiry',
        `account ${accountId} is expired but cannot be judged: ${standing.problem}; fix the record first`,
      );
    }
    const expiredAtMs = 'expiredAtMs' in standing ? standing.expiredAtMs : Number.NaN;
    if (nowMs < expiredAtMs + REQUEST_SETTLE_MS) {
      throw new PurgeRequestError(
        'too-recently-expired',
        `account ${accountId} expired less than ${REQUEST_SETTLE_MS / 60_000} minutes ago and events may still be in flight; retry after ${new Date(expiredAtMs + REQUEST_SETTLE_MS).toISOString()}`,
      );
    }
  }
  return account;
}

/**
 * Who may claim an account for a purge: an eligible one on schedule; any expired one on request (the
 * request was checked when made). A purge is named by the run that starts it.
 */
function purgeClaim(trigger: PurgeTrigger, reason: string | undefined): ClaimRule<PurgeProgress> {
  return {
    refusal: (st, nowMs) => {
      const standing = eligibility(st, nowMs);
      const allowed = trigger === 'request' ? st.status === 'expired' : standing.kind === 'eligible';
      if (allowed) return undefined;
      return `no longer eligible (status ${st.status}${standing.kind === 'invalid' ? `: ${standing.problem}` : ''})`;
    },
    opening: (runId, shared) => ({
      purgeId: runId,
      trigger,
      ...(reason !== undefined ? { reason } : {}),
      ...shared,
    }),
    // A deletion request joining a scheduled purge in flight still gets its reason on the receipt.
    joining: (found) => ({
      trigger: trigger === 'request' ? 'request' : found.trigger,
      ...(found.reason === undefined && reason !== undefined ? { reason } : {}),
    }),
  };
}

/** The purge's steps after its claim, in the order of `PURGE_STEPS`. */
const PURGE_PLAN: StepPlan<PurgeProgress, 'purged'> = {
  steps: {
    shred: shredDataKeys,
    objects: emptyEventStores('directory'),
    // Everything else the account owns, any data key created since the shred included.
    directory: deleteDirectoryItems((directory, accountId) => directory.listOwnedItems(accountId), 'receipt'),
  },
  finish: writeReceipt({
    build: buildReceipt,
    // Its personal fields are dropped from the record with the progress.
    mark: (receipt, where) => ({
      kind: 'purged',
      purgedAt: receipt.finishedAt,
      purgeId: receipt.purgeId,
      receipt: where,
    }),
    done: 'purged',
  }),
};
