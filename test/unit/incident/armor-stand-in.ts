/**
 * A stand-in of the Compute API's security-policy and URL-map calls (no emulator of Cloud Armor or Cloud
 * CDN exists): one policy held in memory, answering `get`, `addRule` (refusing a priority in use, as the
 * API does) and `removeRule`, and recording every request, including `invalidateCache` on URL maps.
 */
import type { ArmorRule, ComputeRequest } from '../../../services/shared/edge-store/armor-edge-store';

/** The stand-in and what it recorded. */
export interface ComputeStandIn {
  readonly request: ComputeRequest;
  /** The policy's rules, in the order they were added. */
  readonly rules: ArmorRule[];
  /** Every request, in order. */
  readonly calls: { method: string; url: string; data?: unknown }[];
}

/** A stand-in holding one policy with `rules` already in it (the default rule is added as GCP has it). */
export function computeStandIn(project: string, policy: string, rules: ArmorRule[] = []): ComputeStandIn {
  const all: ArmorRule[] = [
    { priority: 2147483647, action: 'allow', description: 'default rule', match: {} },
    ...rules,
  ];
  const calls: ComputeStandIn['calls'] = [];
  const base = `https://compute.googleapis.com/compute/v1/projects/${project}/global/securityPolicies/${policy}`;
  const request: ComputeRequest = async (req) => {
    calls.push({ method: req.method, url: req.url, ...(req.data !== undefined ? { data: req.data } : {}) });
    if (req.method === 'GET' && req.url === base) return { name: policy, rules: all.map((r) => ({ ...r })) };
    if (req.method === 'POST' && req.url === `${base}/addRule`) {
      const rule = req.data as ArmorRule;
      if (all.some((r) => r.priority === rule.priority))
        throw new Error(`The rule at priority ${rule.priority} already exists in the security policy`);
      all.push(rule);
      return { name: `operation-add-${rule.priority}` };
    }
    const remove = /\/removeRule\?priority=(\d+)$/.exec(req.url);
    if (req.method === 'POST' && remove && req.url.startsWith(base)) {
      const i = all.findIndex((r) => r.priority === Number(remove[1]));
      if (i < 0) throw new Error(`no rule at priority ${remove[1]}`);
      all.splice(i, 1);
      return { name: `operation-remove-${remove[1]}` };
    }
    if (req.method === 'POST' && /\/global\/urlMaps\/[^/]+\/invalidateCache$/.test(req.url))
      return { name: `operation-invalidate-${calls.length}` };
    throw new Error(`stand-in: unexpected ${req.method} ${req.url}`);
  };
  return { request, rules: all, calls };
}
