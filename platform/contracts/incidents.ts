/**
 * The contract of breach response: how incident records are stored (the same items in the DynamoDB table and
 * the local file), and the log line the ingest service writes for each API-key authentication, which the
 * per-key detection rules (CloudWatch Contributor Insights) read.
 */

/** Item layout of the incident store: one item per incident, its timeline inside it. */
export const INCIDENTS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Partition of one incident: `INCIDENT#<id>`. */
  incidentPk: (incidentId: string): string => `INCIDENT#${incidentId}`,
  /** Sort key of the incident record. */
  incidentSk: 'META',
  /** The local store on embedded defaults: `<data dir>/incidents.json`. */
  localFile: 'incidents.json',
  /** The outbox of customer notices on embedded defaults: `<data dir>/outbox/<incidentId>-<n>.txt`. */
  localOutbox: 'outbox',
} as const;

/** The steps of an incident's timeline, in the order of the breach policy. */
export const INCIDENT_STEPS = ['detected', 'contained', 'notified', 'rotated', 'resolved'] as const;
/** One step of an incident's timeline. */
export type IncidentStep = (typeof INCIDENT_STEPS)[number];

/**
 * The structured log line of every API-key authentication on `/postback` (pino JSON, one line each):
 * `{"msg": "api key authentication", "keyId": …, "outcome": "ok" | "failed", "reason": …, "clientIp": …,
 * "country": …, "requestId": …}`. On failed lines `keyId` is the id the caller claimed, unverified: key ids are
 * public, so nothing may revoke a key on failed lines alone.
 * Only the key id (the public half) is ever logged, never the key. Detection rules match on these names.
 */
export const KEY_AUTH_LOG = {
  message: 'api key authentication',
  keyId: 'keyId',
  outcome: 'outcome',
  clientIp: 'clientIp',
  country: 'country',
  /** Why a failed attempt failed: one of {@link KEY_AUTH_FAILURES}; absent on `ok` lines. */
  reason: 'reason',
  requestId: 'requestId',
  outcomes: { ok: 'ok', failed: 'failed' },
} as const;

/**
 * Why an authentication failed, the `reason` field of a failed line (the caller is told less: unknown,
 * wrong and revoked keys get one message, so only the log tells them apart).
 */
export const KEY_AUTH_FAILURES = [
  /** No key in `x-api-key`, `Authorization: Bearer` or `?key=`. */
  'missing',
  /** Not of the form `tsk_<keyid>_<secret>`: the line has no `keyId`. */
  'malformed',
  /** No key of that id in the directory. */
  'unknown_key',
  /** The id exists; the secret is not its secret. */
  'wrong_secret',
  /** The right secret of a revoked key: whoever sends it holds a key that was taken away. */
  'revoked',
  /** A valid key whose account is not active (expired, purged) or no longer in the directory. */
  'inactive_account',
  /** A valid key sent in the URL, which the key does not allow. */
  'url_not_allowed',
  /** A valid key over its own rate (`LIMITS.apiKeyRatePerSecond`). */
  'key_rate_limited',
  /**
   * The client IP was over its postback rate or its failed-attempt budget, so the key was not looked at;
   * `keyId` is the id the request claimed, unverified.
   */
  'address_throttled',
] as const;
