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
 * `{"msg": "api key authentication", "keyId": …, "outcome": "ok" | "failed", "clientIp": …, "country": …}`.
 * Only the key id (the public half) is ever logged, never the key. Detection rules match on these names.
 */
export const KEY_AUTH_LOG = {
  message: 'api key authentication',
  keyId: 'keyId',
  outcome: 'outcome',
  clientIp: 'clientIp',
  country: 'country',
  outcomes: { ok: 'ok', failed: 'failed' },
} as const;
