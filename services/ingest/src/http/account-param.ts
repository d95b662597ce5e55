/**
 * The account a hit names in its URL (`a`), for the edge: a CloudFront Function cannot read bodies, so the
 * edge routes `/collect` and `/postback` (and the pixel and iframe, where `a` is the account field itself)
 * by this parameter. The origin holds it to the truth, so a hit cannot be routed as one account and stored
 * as another.
 *
 * Absent is accepted here: the edge requires it, and local clients, tests and snippets published before it
 * keep working. Requiring it at the origin would protect nothing: residency is judged on the accounts of
 * the events themselves (see `IngestPipeline.misdirected`), never on `a`.
 */
import type { IncomingMessage } from 'node:http';
import { ID_PATTERNS } from '../../../../platform';
import { EDGE_ACCOUNT_PARAM } from '../../../../platform/contracts/edge';
import type { FieldIssue, Validated } from '../pipeline/validation';

/** Reads `a` from a request's query string: `undefined` when absent, an issue naming `a` when malformed. */
export function accountParamOf(req: IncomingMessage): Validated<string | undefined> {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const values = q < 0 ? [] : new URLSearchParams(url.slice(q + 1)).getAll(EDGE_ACCOUNT_PARAM);
  if (values.length === 0) return { ok: true, value: undefined };
  const fail = (message: string): Validated<string | undefined> => ({
    ok: false,
    issues: [{ field: EDGE_ACCOUNT_PARAM, message }],
  });
  if (values.length > 1) return fail('is given more than once');
  const value = values[0]!;
  if (!ID_PATTERNS.account.test(value))
    return fail('must be the account id ("acc_" followed by 8-32 lowercase letters or digits)');
  return { ok: true, value };
}

/**
 * The issue when `a` names another account than one the request's events belong to; `undefined` when it
 * is absent or agrees with all of them.
 * @param what says whose account it is, for the message (e.g. `the API key's account`)
 */
export function accountParamMismatch(
  param: string | undefined,
  accountIds: Iterable<string>,
  what: string,
): FieldIssue | undefined {
  if (param === undefined) return undefined;
  for (const accountId of accountIds)
    if (accountId !== param)
      return {
        field: EDGE_ACCOUNT_PARAM,
        message: `names account ${param}, but ${what} is ${accountId}: the edge routes a hit by its a parameter, so it must be the account the hit is for`,
      };
  return undefined;
}
