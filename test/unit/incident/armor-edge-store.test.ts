/**
 * The Cloud Armor edge store against a stand-in of the Compute API (`armor-stand-in.ts`): Cloud Armor has
 * no emulator, so these tests prove the requests and the rule logic, not that GCP accepts the rule (its CEL
 * expression is checked by Cloud Armor only on a real `addRule`).
 */
import { ARMOR_REVOKED_KEY_RULES, EDGE_STORE, armorRevokedKeyExpression } from '../../../platform';
import {
  ArmorEdgeStore,
  ArmorPrioritiesExhaustedError,
  EdgeStoreNotApplicableError,
} from '../../../services/shared/edge-store/armor-edge-store';
import { revokeKeyAtEdge, setHomeAtEdge } from '../../../services/shared/edge-store/edge-store';
import { computeStandIn } from './armor-stand-in';

const PROJECT = 'trackstack-test';
const POLICY = 'trackstack-dev-ingest';
const KEY = 'abcdefgh12345678';
const AT = new Date('2026-05-01T10:00:00.000Z');
const waf = {
  priority: 1000,
  action: 'deny(403)',
  description: 'preconfigured xss',
  match: { expr: { expression: "evaluatePreconfiguredWaf('xss-v33-stable')" } },
};

const store = (s: ReturnType<typeof computeStandIn>) =>
  new ArmorEdgeStore({ project: PROJECT, policy: POLICY, request: s.request, actor: 'gcp:ops@example.com' });

test('revoking a key adds exactly one deny(403) rule at the first free priority, other rules untouched', async () => {
  const s = computeStandIn(PROJECT, POLICY, [waf]);
  const before = s.rules.map((r) => ({ ...r }));
  await revokeKeyAtEdge(store(s), KEY, AT);
  expect(s.rules).toHaveLength(before.length + 1);
  expect(s.rules.slice(0, before.length)).toEqual(before);
  expect(s.rules.at(-1)).toEqual({
    priority: ARMOR_REVOKED_KEY_RULES.firstPriority + 1,
    action: 'deny(403)',
    description: `trackstack revoked API key ${KEY} at ${AT.toISOString()} by gcp:ops@example.com`,
    match: { expr: { expression: armorRevokedKeyExpression(KEY) } },
  });
  expect(s.calls.filter((c) => c.url.endsWith('/addRule'))).toHaveLength(1);
  expect(await store(s).get(EDGE_STORE.revokedKey(KEY))).toBe(AT.toISOString());
  expect(await store(s).get(EDGE_STORE.revokedKey('zzzzzzzzzzzzzzzz'))).toBeUndefined();
});

test('revoking a key twice adds no second rule', async () => {
  const s = computeStandIn(PROJECT, POLICY);
  await revokeKeyAtEdge(store(s), KEY, AT);
  await revokeKeyAtEdge(store(s), KEY, new Date(AT.getTime() + 60_000));
  expect(s.rules.filter((r) => r.match?.expr?.expression === armorRevokedKeyExpression(KEY))).toHaveLength(1);
  expect(s.calls.filter((c) => c.url.endsWith('/addRule'))).toHaveLength(1);
});

test('a priority taken between the read and the write is retried at the next free one', async () => {
  const s = computeStandIn(PROJECT, POLICY);
  let raced = false;
  const racing = new ArmorEdgeStore({
    project: PROJECT,
    policy: POLICY,
    request: async (req) => {
      if (!raced && req.url.endsWith('/addRule')) {
        raced = true;
        s.rules.push({ priority: ARMOR_REVOKED_KEY_RULES.firstPriority, action: 'deny(403)', match: {} });
      }
      return s.request(req);
    },
  });
  await revokeKeyAtEdge(racing, KEY, AT);
  const mine = s.rules.find((r) => r.match?.expr?.expression === armorRevokedKeyExpression(KEY));
  expect(mine?.priority).toBe(ARMOR_REVOKED_KEY_RULES.firstPriority + 1);
});

test('an exhausted priority range is a clear error and adds nothing', async () => {
  const full = [];
  for (let p = ARMOR_REVOKED_KEY_RULES.firstPriority; p <= ARMOR_REVOKED_KEY_RULES.lastPriority; p++)
    full.push({ priority: p, action: 'deny(403)', match: { expr: { expression: `x${p}` } } });
  const s = computeStandIn(PROJECT, POLICY, full);
  const error = await revokeKeyAtEdge(store(s), KEY, AT).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ArmorPrioritiesExhaustedError);
  expect((error as Error).message).toContain(
    `every priority from ${ARMOR_REVOKED_KEY_RULES.firstPriority} to ${ARMOR_REVOKED_KEY_RULES.lastPriority} holds a rule, so key ${KEY} cannot be denied`,
  );
  expect(s.calls.some((c) => c.url.endsWith('/addRule'))).toBe(false);
});

test('delete removes the key rule only', async () => {
  const s = computeStandIn(PROJECT, POLICY, [waf]);
  await revokeKeyAtEdge(store(s), KEY, AT);
  await store(s).delete([EDGE_STORE.revokedKey(KEY), EDGE_STORE.revokedKey('zzzzzzzzzzzzzzzz')]);
  expect(s.rules.map((r) => r.priority)).toEqual([2147483647, 1000]);
});

test('home and down keys are not applicable at the GCP edge, and nothing is written', async () => {
  const s = computeStandIn(PROJECT, POLICY);
  await expect(setHomeAtEdge(store(s), 'acc_shopworld01', 'europe')).rejects.toThrow(
    EdgeStoreNotApplicableError,
  );
  await expect(setHomeAtEdge(store(s), 'acc_shopworld01', 'europe')).rejects.toThrow(
    "the GCP edge cannot route by account, so home:acc_shopworld01 is not applicable there: the ingest service enforces residency from the directory's homeLocation (421)",
  );
  await expect(store(s).put({ [EDGE_STORE.downKey]: 'europe' })).rejects.toThrow(
    'the GCP edge has no down key',
  );
  expect(s.calls.filter((c) => c.method === 'POST')).toEqual([]);
});

test('a failed request names the policy and the call', async () => {
  const failing = new ArmorEdgeStore({
    project: PROJECT,
    policy: POLICY,
    request: () => Promise.reject(new Error('403 PERMISSION_DENIED')),
  });
  await expect(failing.get(EDGE_STORE.revokedKey(KEY))).rejects.toThrow(
    `armor:projects/${PROJECT}/global/securityPolicies/${POLICY}: get failed: 403 PERMISSION_DENIED`,
  );
});
