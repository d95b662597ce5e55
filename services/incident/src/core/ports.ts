/**
 * What the incident core needs from the outside world, each with a local and an AWS adapter: the incident
 * store, the notifier, the directory's keys and accounts, and the edge store (`services/shared/edge-store`).
 */
import type { AccountRecord, ApiKeyRecord } from '../../../shared/directory/directory';
import type { Incident } from './model';

/** Where incident records live: `<data dir>/incidents.json`, or the DynamoDB incident table. */
export interface IncidentStore {
  /** Human-readable name, e.g. `dynamodb:trackstack-dev-incidents`. */
  readonly description: string;
  /** Stores a new incident; resolves `false`, changing nothing, when one with its id exists. */
  create(incident: Incident): Promise<boolean>;
  /** One incident, read consistently. */
  get(id: string): Promise<Incident | undefined>;
  /** Every incident, newest detection first. */
  list(): Promise<Incident[]>;
  /**
   * Replaces an incident only if the stored one is at `expectedVersion` (compare-and-set); resolves `false`,
   * changing nothing, otherwise. `incident.version` is the new version.
   */
  update(incident: Incident, expectedVersion: number): Promise<boolean>;
}

/** A message to an affected customer. */
export interface Notice {
  readonly incidentId: string;
  readonly accountId: string;
  /** The account's contact address. */
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  /** 1 for the incident's first notice, 2 for the next… */
  readonly sequence: number;
}

/** Delivers notices: the SNS customer-notice topic, or the local outbox folder. */
export interface Notifier {
  /** Human-readable name, e.g. the topic's ARN. */
  readonly description: string;
  /** Sends one notice; resolves with where it went (a message id or a file path). */
  send(notice: Notice): Promise<string>;
}

/** The directory as breach response uses it: accounts and API keys, with conditional writes. */
export interface KeyDirectory {
  /** Human-readable name, e.g. `file:.data/directory.json`. */
  readonly description: string;
  getAccount(accountId: string): Promise<AccountRecord | undefined>;
  /** An API key record, read consistently (a revoke must see the latest status). */
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  /**
   * Marks an active key revoked (status, `revokedAt`, `revokedReason`), only if it is still active;
   * resolves `false`, changing nothing, when it is not.
   */
  revokeApiKey(keyId: string, at: Date, reason: string): Promise<boolean>;
  /** Stores a new key record; resolves `false`, changing nothing, when its id is taken. */
  createApiKey(record: ApiKeyRecord): Promise<boolean>;
}
