/**
 * The edge store on GCP: the stage's Cloud Armor backend policy (`names.gcpBackendSecurityPolicy(stage)`).
 * GCP's load balancer runs no code per request and has no key-value store, so of the three kinds of keys
 * only `revoked:<keyId>` has a meaning there: it becomes one `deny(403)` rule matching the key
 * (`armorRevokedKeyExpression`) at a free priority of `ARMOR_REVOKED_KEY_RULES`. The other kinds are not
 * applicable and are refused rather than silently dropped: the load balancer routes by proximity and
 * health on its own (no `down` key), and it cannot route by account, so data residency on GCP is enforced
 * by the ingest service (421 to a hit outside the account's `homeLocation`), not at the edge.
 *
 * Calls are Compute Engine REST requests through an injectable `request` function (by default
 * google-auth-library's `GoogleAuth.request` with the cloud-platform scope), so tests pass a stand-in.
 */
import {
  ARMOR_REVOKED_KEY_RULES,
  EDGE_STORE,
  ID_PATTERNS,
  armorRevokedKeyExpression,
} from '../../../platform';
import { validateEdgeEntries, validateEdgeKey, type EdgeStore } from './edge-store';

/** One REST request to the Compute API; resolves with the response's JSON body. */
export type ComputeRequest = (req: {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly data?: unknown;
}) => Promise<unknown>;

/** A rule of a security policy, as the Compute API returns it (only the fields read here). */
export interface ArmorRule {
  readonly priority: number;
  readonly action?: string;
  readonly description?: string;
  readonly match?: { readonly expr?: { readonly expression?: string } };
}

/** Options of {@link ArmorEdgeStore}. */
export interface ArmorEdgeStoreProps {
  /** The project holding the policy. */
  readonly project: string;
  /** The backend security policy's name, `names.gcpBackendSecurityPolicy(stage)`. */
  readonly policy: string;
  /**
   * Sends a Compute REST request.
   * @default GoogleAuth (cloud-platform scope) `request()`, returning `data`
   */
  readonly request?: ComputeRequest;
  /**
   * Who revokes, named in each rule's description beside the key and the time.
   * @default none
   */
  readonly actor?: string;
}

/** A key kind this store cannot hold (the GCP edge has no such behaviour); nothing was written. */
export class EdgeStoreNotApplicableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EdgeStoreNotApplicableError';
  }
}

/** Every priority of `ARMOR_REVOKED_KEY_RULES` holds a rule: no key can be revoked at the edge. */
export class ArmorPrioritiesExhaustedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArmorPrioritiesExhaustedError';
  }
}

/** Prefix of the description of every rule this store writes; the time follows it. */
const DESCRIPTION_PREFIX = 'trackstack revoked API key';

/** The default request: Application Default Credentials, cloud-platform scope. */
async function googleRequest(): Promise<ComputeRequest> {
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  return async (req) =>
    (await auth.request({ method: req.method, url: req.url, ...(req.data ? { data: req.data } : {}) })).data;
}

/** {@link EdgeStore} over a Cloud Armor backend policy (revoked keys only). */
export class ArmorEdgeStore implements EdgeStore {
  /** `armor:projects/<p>/global/securityPolicies/<policy>` */
  readonly description: string;
  private readonly base: string;
  private requestFn: ComputeRequest | undefined;

  constructor(private readonly props: ArmorEdgeStoreProps) {
    this.base =
      `https://compute.googleapis.com/compute/v1/projects/${encodeURIComponent(props.project)}` +
      `/global/securityPolicies/${encodeURIComponent(props.policy)}`;
    this.description = `armor:projects/${props.project}/global/securityPolicies/${props.policy}`;
    this.requestFn = props.request;
  }

  /** For `revoked:<keyId>`: the revocation time written in the key's rule, or `undefined`. */
  async get(key: string): Promise<string | undefined> {
    validateEdgeKey(key);
    const rule = (await this.rules()).find((r) => expressionOf(r) === armorRevokedKeyExpression(keyOf(key)));
    if (!rule) return undefined;
    return /\bat (\S+)/.exec(rule.description ?? '')?.[1] ?? 'revoked';
  }

  /**
   * Adds one deny rule per revoked key not yet denied (a key already denied gets no second rule).
   * @throws EdgeStoreNotApplicableError, writing nothing, for a `down` or `home:` key
   * @throws ArmorPrioritiesExhaustedError when no priority of the range is free
   */
  async put(entries: Readonly<Record<string, string>>): Promise<void> {
    validateEdgeEntries(entries);
    const keys = Object.entries(entries).map(([k, v]) => [keyOf(k), v] as const);
    for (const [keyId, at] of keys) await this.addRule(keyId, at);
  }

  /** Removes the rules of the revoked keys named (a key with no rule is not an error). */
  async delete(keys: readonly string[]): Promise<void> {
    keys.forEach(validateEdgeKey);
    const expressions = new Set(keys.map((k) => armorRevokedKeyExpression(keyOf(k))));
    for (const rule of await this.rules())
      if (expressions.has(expressionOf(rule) ?? ''))
        await this.call('POST', `/removeRule?priority=${rule.priority}`, undefined, 'removeRule');
  }

  /** The policy's rules (one GET of the policy: it holds at most 200). */
  async rules(): Promise<ArmorRule[]> {
    const policy = (await this.call('GET', '', undefined, 'get')) as { rules?: ArmorRule[] } | undefined;
    return policy?.rules ?? [];
  }

  private async addRule(keyId: string, at: string): Promise<void> {
    const expression = armorRevokedKeyExpression(keyId);
    // A second writer may take the priority chosen between the read and the write: read again, retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const rules = await this.rules();
      if (rules.some((r) => expressionOf(r) === expression)) return;
      const taken = new Set(rules.map((r) => r.priority));
      let priority: number = ARMOR_REVOKED_KEY_RULES.firstPriority;
      while (priority <= ARMOR_REVOKED_KEY_RULES.lastPriority && taken.has(priority)) priority++;
      if (priority > ARMOR_REVOKED_KEY_RULES.lastPriority)
        throw new ArmorPrioritiesExhaustedError(
          `${this.description}: every priority from ${ARMOR_REVOKED_KEY_RULES.firstPriority} to ` +
            `${ARMOR_REVOKED_KEY_RULES.lastPriority} holds a rule, so key ${keyId} cannot be denied at the edge; ` +
            'remove the rules of keys whose owners have rotated them (the ingest still refuses a revoked key)',
        );
      const rule = {
        priority,
        action: 'deny(403)',
        description: `${DESCRIPTION_PREFIX} ${keyId} at ${at}${this.props.actor ? ` by ${this.props.actor}` : ''}`,
        match: { expr: { expression } },
      };
      try {
        await this.call('POST', '/addRule', rule, 'addRule');
        return;
      } catch (err) {
        // Compute answers a taken priority synchronously ("Cannot have rules with the same priorities"),
        // before the long-running operation starts; other errors are not retried.
        if (
          attempt === 2 ||
          !/already exists|same priorit|conflict|409/i.test(String((err as Error).cause ?? err))
        )
          throw err;
      }
    }
  }

  private async call(method: 'GET' | 'POST', path: string, data: unknown, what: string): Promise<unknown> {
    this.requestFn ??= await googleRequest();
    try {
      return await this.requestFn({ method, url: `${this.base}${path}`, ...(data ? { data } : {}) });
    } catch (err) {
      throw new Error(`${this.description}: ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

function expressionOf(rule: ArmorRule): string | undefined {
  return rule.match?.expr?.expression;
}

/** The key id of a `revoked:<keyId>` key. @throws EdgeStoreNotApplicableError for another kind */
function keyOf(key: string): string {
  const keyId = key.startsWith(EDGE_STORE.revokedKey(''))
    ? key.slice(EDGE_STORE.revokedKey('').length)
    : undefined;
  if (keyId !== undefined && ID_PATTERNS.apiKeyId.test(keyId)) return keyId;
  throw new EdgeStoreNotApplicableError(
    key === EDGE_STORE.downKey
      ? 'the GCP edge has no down key: the load balancer routes around an unhealthy region by itself'
      : key.startsWith(EDGE_STORE.homeKey(''))
        ? `the GCP edge cannot route by account, so ${key} is not applicable there: the ingest service enforces ` +
          "residency from the directory's homeLocation (421)"
        : `the GCP edge (Cloud Armor) holds only revoked:<keyId> keys, not ${key}`,
  );
}
