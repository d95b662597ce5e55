/**
 * The use cases of breach response, over the ports only: open an incident, revoke a key (contain), notify
 * the customer, issue a replacement key, close, list and show. Every check runs before the first write, so
 * a refused request changes nothing; every step is recorded on the incident's timeline with its actor.
 */
import { ID_PATTERNS, LIMITS, parseIsoInstant } from '../../../../platform';
import { generateApiKey } from '../../../shared/api-keys';
import type { ApiKeyRecord } from '../../../shared/directory/directory';
import { revokeKeyAtEdge, type EdgeStore } from '../../../shared/edge-store/edge-store';
import {
  IncidentConflictError,
  IncidentRefusedError,
  KeyAlreadyRevokedError,
  PartialActionError,
} from './errors';
import { newIncidentId, stepsOf, type Incident, type TimelineEntry } from './model';
import { renderNotice } from './notice';
import type { IncidentStore, KeyDirectory, Notifier } from './ports';

/** The ports and settings of {@link IncidentService}. */
export interface IncidentServiceProps {
  readonly incidents: IncidentStore;
  readonly directory: KeyDirectory;
  readonly edge: EdgeStore;
  readonly notifier: Notifier;
  /**
   * The clock.
   * @default the system clock
   */
  readonly now?: () => Date;
  /**
   * The six random characters of new incident ids (tests fix them).
   * @default crypto-random base36
   */
  readonly randomId?: () => string;
}

/** What `open` takes. */
export interface OpenRequest {
  readonly accountId: string;
  readonly keyId?: string;
  readonly summary: string;
  /** ISO-8601 instant with a time zone. @default now */
  readonly detectedAt?: string;
  /** @default true */
  readonly affectsPersonalData?: boolean;
}

/** What `revokeKey` did. */
export interface RevokeResult {
  readonly incident: Incident;
  /** Whether this call opened the incident. */
  readonly opened: boolean;
  readonly accountId: string;
}

/** What `rotateKey` did: the new key, to be printed once and never stored. */
export interface RotateResult {
  readonly incident: Incident;
  readonly key: string;
  readonly keyId: string;
  /** Whether the old key was still active (rotation does not revoke it). */
  readonly oldKeyActive: boolean;
}

/** What `notify` did. */
export interface NotifyResult {
  readonly incident: Incident;
  readonly to: string;
  /** Where the notice went (a message id or a file). */
  readonly deliveredTo: string;
  readonly subject: string;
  readonly body: string;
}

/** Attempts of a read-modify-write of one incident when another writer got there first. */
const UPDATE_ATTEMPTS = 5;
/** Attempts at a fresh incident id when the random one is taken. */
const ID_ATTEMPTS = 5;

/** Breach response over any store, directory, edge store and notifier. */
export class IncidentService {
  private readonly now: () => Date;

  constructor(private readonly props: IncidentServiceProps) {
    this.now = props.now ?? (() => new Date());
  }

  /**
   * Opens an incident: detected at `detectedAt` (or now), recorded as `detected` by `actor`.
   * @throws IncidentRefusedError on an unknown account or key, a key of another account, an empty summary,
   *   or a detection time that is malformed or in the future
   */
  async open(request: OpenRequest, actor: string): Promise<Incident> {
    const summary = requireText(request.summary, 'a summary (--summary "…")');
    const account = await this.props.directory.getAccount(request.accountId);
    if (!ID_PATTERNS.account.test(request.accountId) || !account)
      throw new IncidentRefusedError(`unknown account ${request.accountId}`);
    if (request.keyId !== undefined) await this.keyOf(request.keyId, request.accountId);
    const now = this.now();
    let detectedAt = now;
    if (request.detectedAt !== undefined) {
      const ms = parseIsoInstant(request.detectedAt);
      if (ms === undefined)
        throw new IncidentRefusedError(
          `the detection time must be an ISO-8601 instant with a time zone, e.g. 2026-05-01T10:00:00Z; got "${request.detectedAt}"`,
        );
      if (ms > now.getTime() + LIMITS.maxClockSkewSeconds * 1000)
        throw new IncidentRefusedError(`the detection time ${request.detectedAt} is in the future`);
      detectedAt = new Date(ms);
    }
    return this.create({
      accountId: request.accountId,
      keyIds: request.keyId ? [request.keyId] : [],
      summary,
      affectsPersonalData: request.affectsPersonalData ?? true,
      detectedAt,
      actor,
    });
  }

  /**
   * Contains a compromised key: writes `revoked:<keyId>` to the edge store (the edge refuses it once the
   * store propagates), then marks it revoked in the directory, only if still active (the global table: every
   * region's ingest refuses it within `LIMITS.keyStatusCacheSeconds`), then records `contained` on the
   * incident given, or on a new one for the key's account.
   *
   * The edge goes first because its write is idempotent: if the directory write fails after it, the key is
   * still active there and running the command again completes it.
   * @throws KeyAlreadyRevokedError (nothing changed) when the key is revoked already
   * @throws IncidentRefusedError (nothing changed) on an unknown key or incident, a closed incident or one
   *   of another account, an empty reason
   * @throws PartialActionError when the key was revoked but the incident could not be recorded
   */
  async revokeKey(keyId: string, reason: string, actor: string, incidentId?: string): Promise<RevokeResult> {
    const why = requireText(reason, 'a reason (--reason "…")');
    const key = await this.keyOf(keyId);
    if (key.status === 'revoked') throw new KeyAlreadyRevokedError(keyId, key.revokedAt);
    if (incidentId !== undefined) await this.openIncident(incidentId, key.accountId);
    const at = this.now();
    await revokeKeyAtEdge(this.props.edge, keyId, at);
    if (!(await this.props.directory.revokeApiKey(keyId, at, why))) {
      const now = await this.props.directory.getApiKey(keyId);
      throw new KeyAlreadyRevokedError(keyId, now?.revokedAt);
    }
    const contained: TimelineEntry = {
      step: 'contained',
      at: at.toISOString(),
      actor,
      keyId,
      detail: `API key ${keyId} revoked in the directory and at the edge: ${why}`,
    };
    try {
      if (incidentId !== undefined) {
        const incident = await this.record(incidentId, actor, (i) => ({
          ...i,
          keyIds: i.keyIds.includes(keyId) ? i.keyIds : [...i.keyIds, keyId],
          timeline: [...i.timeline, contained],
        }));
        return { incident, opened: false, accountId: key.accountId };
      }
      const incident = await this.create({
        accountId: key.accountId,
        keyIds: [keyId],
        summary: `API key ${keyId} revoked: ${why}`,
        affectsPersonalData: true,
        detectedAt: at,
        actor,
        then: [contained],
      });
      return { incident, opened: true, accountId: key.accountId };
    } catch (err) {
      throw new PartialActionError(
        `API key ${keyId} is revoked (directory and edge), but the incident could not be recorded: ` +
          `${(err as Error).message}. Record it with: npm run incident -- open --account ${key.accountId} ` +
          `--key ${keyId} --summary "…"`,
        { cause: err },
      );
    }
  }

  /**
   * Sends the customer notice to the account's contact and records `notified`.
   * @throws IncidentRefusedError (nothing sent) on an unknown incident or an account without a contact
   */
  async notify(incidentId: string, actor: string): Promise<NotifyResult> {
    const incident = await this.existing(incidentId);
    const account = await this.props.directory.getAccount(incident.accountId);
    if (!account)
      throw new IncidentRefusedError(`the account ${incident.accountId} of ${incidentId} no longer exists`);
    if (!account.contactEmail)
      throw new IncidentRefusedError(
        `account ${incident.accountId} has no contact address (contactEmail) in the directory: nothing was sent. ` +
          'Add one to the account record, or reach the customer another way and record it',
      );
    const { subject, body } = renderNotice(incident);
    const sequence = stepsOf(incident, 'notified').length + 1;
    const deliveredTo = await this.props.notifier.send({
      incidentId,
      accountId: incident.accountId,
      to: account.contactEmail,
      subject,
      body,
      sequence,
    });
    const at = this.now().toISOString();
    const detail = `notice ${sequence} sent to ${account.contactEmail} (${deliveredTo})`;
    let updated: Incident;
    try {
      updated = await this.record(incidentId, actor, (i) => ({
        ...i,
        timeline: [...i.timeline, { step: 'notified', at, actor, detail }],
      }));
    } catch (err) {
      throw new PartialActionError(
        `the notice was sent (${deliveredTo}) but could not be recorded on ${incidentId}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return { incident: updated, to: account.contactEmail, deliveredTo, subject, body };
  }

  /**
   * Issues a replacement key for the key's account (only its hash is stored; the key is returned once) and
   * records `rotated` with the new key's id on the incident given, or on the open incident holding the key.
   * @throws IncidentRefusedError (nothing issued) on an unknown key or incident, or when no open incident
   *   holds the key and none is given
   */
  async rotateKey(keyId: string, actor: string, incidentId?: string): Promise<RotateResult> {
    const old = await this.keyOf(keyId);
    let target: Incident;
    if (incidentId !== undefined) target = await this.openIncident(incidentId, old.accountId);
    else {
      const holding = (await this.props.incidents.list()).filter(
        (i) => i.status === 'open' && i.keyIds.includes(keyId),
      );
      if (holding.length !== 1)
        throw new IncidentRefusedError(
          holding.length === 0
            ? `no open incident holds API key ${keyId}: give --incident <id> (or open one first)`
            : `several open incidents hold API key ${keyId} (${holding.map((i) => i.id).join(', ')}): give --incident <id>`,
        );
      target = holding[0]!;
    }
    const at = this.now();
    let fresh = generateApiKey();
    const record = (k: typeof fresh): ApiKeyRecord => ({
      keyId: k.keyId,
      accountId: old.accountId,
      secretHash: k.secretHash,
      status: 'active',
      createdAt: at.toISOString(),
      ...(old.allowInUrl ? { allowInUrl: true } : {}),
    });
    // A 16-character id collides about never; a taken one is simply drawn again, never overwritten.
    while (!(await this.props.directory.createApiKey(record(fresh)))) fresh = generateApiKey();
    const oldKeyActive = old.status === 'active';
    const incident = await this.record(target.id, actor, (i) => ({
      ...i,
      timeline: [
        ...i.timeline,
        {
          step: 'rotated',
          at: at.toISOString(),
          actor,
          newKeyId: fresh.keyId,
          detail: `replacement key ${fresh.keyId} issued for ${keyId}${oldKeyActive ? ' (the old key is still active)' : ''}`,
        },
      ],
    }));
    return { incident, key: fresh.key, keyId: fresh.keyId, oldKeyActive };
  }

  /**
   * Closes an open incident with a summary, recorded as `resolved`.
   * @throws IncidentRefusedError (nothing changed) on an unknown or closed incident or an empty summary
   */
  async close(incidentId: string, summary: string, actor: string): Promise<Incident> {
    const text = requireText(summary, 'a summary (--summary "…")');
    await this.openIncident(incidentId);
    const at = this.now().toISOString();
    return this.record(incidentId, actor, (i) => ({
      ...i,
      status: 'closed',
      resolution: text,
      timeline: [...i.timeline, { step: 'resolved', at, actor, detail: text }],
    }));
  }

  /** Every incident (or the open ones), newest detection first. */
  async list(options: { readonly openOnly?: boolean } = {}): Promise<Incident[]> {
    const all = await this.props.incidents.list();
    return options.openOnly ? all.filter((i) => i.status === 'open') : all;
  }

  /** @throws IncidentRefusedError on an unknown incident */
  show(incidentId: string): Promise<Incident> {
    return this.existing(incidentId);
  }

  /** The key, which must exist (and belong to `accountId` when given). */
  private async keyOf(keyId: string, accountId?: string): Promise<ApiKeyRecord> {
    if (!ID_PATTERNS.apiKeyId.test(keyId))
      throw new IncidentRefusedError(`"${keyId}" is not an API key id (16 lowercase letters or digits)`);
    const key = await this.props.directory.getApiKey(keyId);
    if (!key) throw new IncidentRefusedError(`unknown API key ${keyId}`);
    if (accountId !== undefined && key.accountId !== accountId)
      throw new IncidentRefusedError(`API key ${keyId} belongs to ${key.accountId}, not ${accountId}`);
    return key;
  }

  private async existing(incidentId: string): Promise<Incident> {
    if (!ID_PATTERNS.incident.test(incidentId))
      throw new IncidentRefusedError(
        `"${incidentId}" is not an incident id (inc_<yyyymmdd>_<6 letters or digits>)`,
      );
    const incident = await this.props.incidents.get(incidentId);
    if (!incident) throw new IncidentRefusedError(`unknown incident ${incidentId}`);
    return incident;
  }

  private async openIncident(incidentId: string, accountId?: string): Promise<Incident> {
    const incident = await this.existing(incidentId);
    if (incident.status !== 'open') throw new IncidentRefusedError(`incident ${incidentId} is closed`);
    if (accountId !== undefined && incident.accountId !== accountId)
      throw new IncidentRefusedError(
        `incident ${incidentId} is about ${incident.accountId}, not ${accountId}`,
      );
    return incident;
  }

  private async create(spec: {
    accountId: string;
    keyIds: string[];
    summary: string;
    affectsPersonalData: boolean;
    detectedAt: Date;
    actor: string;
    then?: TimelineEntry[];
  }): Promise<Incident> {
    const detected: TimelineEntry = {
      step: 'detected',
      at: spec.detectedAt.toISOString(),
      actor: spec.actor,
      detail: spec.summary,
    };
    for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
      const incident: Incident = {
        id: newIncidentId(spec.detectedAt, this.props.randomId),
        accountId: spec.accountId,
        keyIds: spec.keyIds,
        summary: spec.summary,
        affectsPersonalData: spec.affectsPersonalData,
        detectedAt: spec.detectedAt.toISOString(),
        status: 'open',
        timeline: [detected, ...(spec.then ?? [])],
        version: 1,
      };
      if (await this.props.incidents.create(incident)) return incident;
    }
    throw new IncidentConflictError(`no free incident id after ${ID_ATTEMPTS} attempts`);
  }

  /** Read-modify-write of one incident under compare-and-set, retried when another writer got in first. */
  private async record(
    incidentId: string,
    actor: string,
    change: (incident: Incident) => Incident,
  ): Promise<Incident> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const current = await this.existing(incidentId);
      const next = { ...change(current), version: current.version + 1 };
      if (await this.props.incidents.update(next, current.version)) return next;
    }
    throw new IncidentConflictError(
      `incident ${incidentId} kept changing while ${actor} recorded a step; nothing was recorded, run it again`,
    );
  }
}

function requireText(text: string | undefined, what: string): string {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') throw new IncidentRefusedError(`${what} is required and must not be empty`);
  return trimmed;
}
