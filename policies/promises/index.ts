/**
 * The promises of the platform's published data-handling and breach policies, mapped to the GDPR provisions
 * they serve and to the compliance rules that enforce them. `npm run scan -- --by-promise` prints, for each
 * promise, its rules and their status; a promise with no rule is listed as kept by no rule.
 */
import { BREACH_RESPONSE_PROMISES } from './breach-response';
import type { CustomerPromise } from './customer-promise';
import { DATA_HANDLING_PROMISES } from './data-handling';

export type { CustomerPromise } from './customer-promise';
export { GDPR, type GdprArticle } from './gdpr';

/** Every promise, data-handling first, in the order the scan prints them. */
export const CUSTOMER_PROMISES: readonly CustomerPromise[] = [
  ...DATA_HANDLING_PROMISES,
  ...BREACH_RESPONSE_PROMISES,
];

/**
 * The promises a rule serves, for reports that start from a finding. A finding id `Rule[Finding]`
 * (`AwsSolutions-IAM5[Resource::*]`) is matched by its rule `Rule`. Empty when the rule serves none.
 */
export function promisesOfRule(ruleId: string): CustomerPromise[] {
  const rule = ruleOfFinding(ruleId);
  return CUSTOMER_PROMISES.filter((p) => p.rules.includes(rule));
}

/**
 * The rule of a finding id: `AwsSolutions-IAM5[Action::s3:*]` → `AwsSolutions-IAM5`; any other id as it is.
 * No rule id contains '[': cdk-nag appends the finding, which may hold brackets of its own, to the rule's id.
 */
export function ruleOfFinding(findingId: string): string {
  const bracket = findingId.indexOf('[');
  return bracket === -1 ? findingId : findingId.slice(0, bracket);
}
