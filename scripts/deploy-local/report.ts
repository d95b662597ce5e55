/**
 * The report of a local deploy: what synth found, every change the moto patch made, what moto created and
 * skipped, the stand-ins, the checks (one line per matching resource, one per differing property), the hit
 * of each region, and what a deploy into moto cannot prove whatever the result.
 */
import { formatLintMatches } from '../synth/cfn-lint';
import { formatNagFindings } from '../synth/nag-report';
import { formatTimings } from '../shared/steps';
import type { Check, CheckStatus } from './check-list';
import type { DeployLocalResult } from './deploy';

/** What a deploy into moto cannot show, whatever the result; printed at the end of every report. */
export const NOT_PROVEN = [
  'IAM is not enforced: moto accepts every call, so role scopes, permissions boundaries, key policies, ' +
    'bucket policies and encryption-context conditions are deployed (or skipped) but never exercised.',
  'Skipped resource types do not exist locally at all (listed above): bucket policies (TLS only, and the ' +
    'event bucket refusing uploads that ask for any encryption but its key), the Function URL, alarms, ' +
    'the SNS topic policy, the dead-letter queue policy and Lambda async-invocation settings (retries).',
  'The origin lock is deployed, not exercised: moto creates the two Lambda permissions for CloudFront ' +
    '(read back above with their source account and ARN) but has no Function URL with AWS_IAM auth and no ' +
    'origin access control, so that a direct, unsigned request is refused is shown only by the unit tests ' +
    'and real AWS; the data-path hit enters the service as CloudFront would forward it.',
  'Nothing of CloudFront or WAF exists locally (skipped, listed above): the distribution, its origins and ' +
    'origin access control, behaviours, cache, origin-request and response-headers policies, the routing ' +
    'and snippet functions, the key value store, the web ACL and its logging configuration; their Ref and ' +
    'GetAtt are replaced by the values AWS would return. Routing, failover, residency, revoked keys at the ' +
    'edge, WAF rules and rate limits are tested in node and by template assertions, not here. The edge ' +
    'stack’s key, buckets and the WAF log group are deployed and checked.',
  'Properties moto ignores are not applied (listed as "not applied"): bucket versioning, lifecycle ' +
    '(noncurrent expiry), access logging, public access block, bucket keys, Object Lock on the receipts ' +
    'bucket, Lambda architecture, tracing, logging configuration and dead-letter queue.',
  'The function never runs in Lambda: its bundle was published to the bootstrap bucket and the function ' +
    'created from it, but the service ran in this process with the deployed environment; the bundle itself, ' +
    'the ARM64 runtime, cold start, concurrency limits and timeouts are not exercised.',
  'The purge function is created, not run: its schedule is deployed but never fires, Lambda retries and ' +
    'dead-letter delivery are not exercised, and only the names in its environment are checked against the ' +
    'deployed buckets and tables (the purge job itself is tested against moto in test/integration/purge).',
  'Firehose is a stand-in created from the template: dynamic partitioning (account=/dt= prefixes), ' +
    'compression, buffering, KMS encryption of the stream and error output are not applied by moto.',
  'The directory is one table per region, not a global table: replication between regions, and the ' +
    'replica keys being used by DynamoDB, are not shown (only that each replica key exists); its ' +
    'time-to-live and recovery period are set, but no expired item is deleted and no restore is made.',
  'Breach detection is deployed in part and never triggered: moto skips the CloudTrail trail, its metric ' +
    'filters and alarms, the Contributor Insights rules and their alarms (and GuardDuty detectors, with ' +
    'guardDuty on), so no API call is recorded, no pattern matched, no key ranked; the EventBridge rules ' +
    'that forward and route the per-key alarms are created but no alarm ever fires into them, and the ' +
    'containment function is created, not run (the incident service is tested against moto on its own). ' +
    'Object Lock on the audit-trail bucket is not applied either.',
  'Updates are not proven: moto does not apply stack updates reliably, so every run deploys into a fresh ' +
    'moto; drift, replacement and rollback behaviour are real-AWS-only.',
  'CloudFormation limits, service quotas, name clashes and region availability (e.g. of a runtime) are ' +
    'not checked; the deploy proves the templates are well-formed and wired, not that AWS accepts them.',
];

/** The report as lines of text: the whole story of a run, so that a failing test can print it as is. */
export function formatDeployLocalReport(r: DeployLocalResult): string[] {
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(`deploy:local — stage ${r.stage}, account ${r.account}, regions ${r.regions.join(', ') || '(none)'}`);
  push('', 'synth (same as npm run synth):', ...formatTimings(r.synth));
  const nag = formatNagFindings(r.synth.nag);
  if (nag.length > 0) push(...nag);
  if (r.synth.lint) push(...formatLintMatches(r.synth.lint));

  if (r.patches.length > 0) {
    push(
      '',
      `moto compatibility changes to the deployed copy of the assembly (moto types from ${r.motoTypesSource}):`,
    );
    for (const p of r.patches) push(`  ${p.stack}  ${p.logicalId} (${p.type})  ${p.change}`);
  }

  if (r.stacks.length > 0) push('', 'resources (CloudFormation ListStackResources):');
  const standInIds = new Set(r.standIns.map((s) => `${s.stack} ${s.logicalId}`));
  for (const s of r.stacks) {
    const total = Object.keys(s.template.Resources).length;
    push(
      `  ${s.id} (${s.region}): ${s.physical.size} of ${total} created, ${s.skipped.size} skipped by moto`,
    );
    for (const [id, res] of Object.entries(s.template.Resources)) {
      const p = s.physical.get(id);
      if (p !== undefined) push(`    created  ${res.Type.padEnd(38)} ${id}  ${p}`);
    }
    for (const [id, type] of s.skipped) {
      const note = standInIds.has(`${s.id} ${id}`) ? '  → stand-in created by deploy:local' : '';
      push(`    SKIPPED  ${type.padEnd(38)} ${id}${note}`);
    }
  }
  if (r.standIns.length > 0) {
    push('', 'stand-ins (created through the service API from the template, because moto skipped the type):');
    for (const s of r.standIns) push(`  ${s.type} ${s.name} in ${s.region} (${s.stack} ${s.logicalId})`);
  }

  if (r.checks.length > 0) {
    const count = (st: CheckStatus) => r.checks.filter((c) => c.status === st).length;
    push(
      '',
      `checks against the templates: ${count('ok')} ok, ${count('not-applied')} not applied by moto, ` +
        `${count('mismatch')} mismatches`,
    );
    // One line per resource for what matches; one line per property for what does not.
    const groups = new Map<string, Check[]>();
    for (const c of r.checks) {
      const key = `${c.stack} ${c.logicalId} (${c.type}${c.standIn ? ', stand-in' : ''})`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const [resource, items] of groups) {
      const ok = items.filter((c) => c.status === 'ok');
      const variables = ok.filter((c) => c.property.startsWith('Environment '));
      const shown = ok
        .filter((c) => !c.property.startsWith('Environment '))
        .map((c) => (c.actual.length <= 90 ? `${c.property}=${c.actual}` : c.property));
      if (variables.length > 0) shown.push(`Environment (${variables.length} variables as in the template)`);
      if (shown.length > 0) push(`  ok           ${resource}: ${shown.join('; ')}`);
      for (const c of items.filter((i) => i.status !== 'ok'))
        push(
          `  ${c.status === 'mismatch' ? 'MISMATCH   ' : 'NOT APPLIED'}  ${resource} ${c.property}: ` +
            `expected ${c.expected}, got ${c.actual}`,
        );
    }
  }

  if (r.dataPath.length > 0)
    push('', 'data path (ingest service in-process with the deployed function environment):');
  for (const d of r.dataPath) {
    push(`  ${d.location} (${d.region}), function ${d.functionName}`);
    for (const [k, v] of Object.entries(d.overrides)) push(`    env ${k}: ${v}`);
    push(`    /readyz: ${JSON.stringify(d.readiness)}`);
    push(`    GET /p.gif → ${d.hitStatus}`);
    if (d.object) push(`    Firehose delivered it to ${d.object} (${d.objectEncryption})`);
    if (d.event)
      push(`    event: ${JSON.stringify({ ...d.event, pii: d.event.pii ? '(encrypted)' : undefined })}`);
    if (d.decrypted)
      push(
        `    personal fields decrypted with the deployed regional KMS key: ${JSON.stringify(d.decrypted)}`,
      );
    if (d.error) push(`    FAILED: ${d.error}`);
  }

  push('', 'what this local deploy does not prove:', ...NOT_PROVEN.map((n) => `  - ${n}`));
  push('', `steps:`, ...formatTimings(r, { stepWidth: 26, gap: ' ' }));
  if (r.failure) push('', `FAILED: ${r.failure}`);
  push('', `deploy:local ${r.ok ? 'passed' : 'FAILED'}`);
  return lines;
}
