/**
 * The ingest pipeline shared by every route and both HTTP paths (express and the lean pixel path):
 * bot filter → account and campaign → consent → de-duplicate → enrich → encrypt personal fields → sink.
 * Validation and rate limiting happen before, at the edge of the HTTP layer.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isbot } from 'isbot';
import { LIMITS, type Location } from '../../../../infra/platform';
import type { EncryptedEnvelope } from '../crypto/data-keys';
import type { CampaignRecord, Directory } from '../directory/directory';
import type { Metrics, RejectReason } from '../metrics';
import type { SinkRecord } from '../sinks/sink';
import { DedupWindow } from './limits';
import type { TrackEvent } from './validation';

/** Where a hit came in. */
export type HitSource = 'pixel' | 'beacon' | 'iframe' | 'postback';

/** What the HTTP layer knows about the request a hit came in. */
export interface HitContext {
  readonly source: HitSource;
  readonly requestId: string;
  /** Client IP; personal, dropped without consent. */
  readonly ip?: string;
  /** Client user agent; personal, dropped without consent. */
  readonly userAgent?: string;
  /** ISO 3166 country from the CDN, when the request came through it. */
  readonly country?: string;
  /** The visitor has not consented (DNT, GPC or opt-out cookie). */
  readonly noConsent: boolean;
  /** Skip the bot filter: server postbacks come from servers by design. */
  readonly trustedServer?: boolean;
}

/** Ciphertext of an event's personal fields. */
export type EncryptedFields = EncryptedEnvelope;

/** Encrypts personal fields under the account's data key, with the account id as AAD. */
export interface FieldEncryptor {
  encryptFields(accountId: string, fields: Record<string, unknown>): Promise<EncryptedFields>;
}

/** Accepts one record and resolves once it is in the sink or the spool. */
export interface RecordSink {
  enqueue(record: SinkRecord): Promise<void>;
}

/** Everything the pipeline needs. */
export interface IngestPipelineProps {
  /** The directory, normally wrapped in a status cache. */
  readonly directory: Directory;
  readonly encryptor: FieldEncryptor;
  readonly sink: RecordSink;
  readonly metrics: Metrics;
  /** The serving location stamped on every event. */
  readonly location: Location;
  /**
   * Clock, in milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * De-duplication of conversions.
   * @default a window of `LIMITS.dedupWindowSeconds`
   */
  readonly dedup?: DedupWindow;
}

/** What became of one hit. */
export type HitOutcome = { stored: true; id: string } | { stored: false; reason: RejectReason };

/** The event as it is stored: no personal field in clear. */
export interface StoredEvent {
  readonly v: 1;
  readonly id: string;
  readonly accountId: string;
  readonly campaignId: string;
  readonly type: string;
  readonly name?: string;
  readonly url?: string;
  readonly referrer?: string;
  readonly ts?: number;
  readonly orderId?: string;
  readonly value?: number;
  readonly currency?: string;
  readonly receivedAt: string;
  /** UTC day of `receivedAt`: the storage partition. */
  readonly dt: string;
  readonly location: Location;
  readonly source: HitSource;
  readonly country?: string;
  /** `full` when personal fields were kept (encrypted), `anonymous` when consent removed them. */
  readonly consent: 'full' | 'anonymous';
  readonly pii?: EncryptedFields;
}

/** Runs hits through the pipeline. One instance per process. */
export class IngestPipeline {
  private readonly props: IngestPipelineProps;
  private readonly now: () => number;
  private readonly dedup: DedupWindow;

  constructor(props: IngestPipelineProps) {
    this.props = props;
    this.now = props.now ?? Date.now;
    this.dedup =
      props.dedup ?? new DedupWindow({ windowMs: LIMITS.dedupWindowSeconds * 1000, now: this.now });
  }

  /**
   * Takes one validated event. Resolves once it is stored (in the sink or spool) or rejected with a
   * reason; rejects only when it could be neither stored nor spooled, so the caller must not acknowledge.
   */
  async ingest(event: TrackEvent, ctx: HitContext): Promise<HitOutcome> {
    const { metrics } = this.props;
    if (!ctx.trustedServer && ctx.userAgent !== undefined && isbot(ctx.userAgent)) return this.reject('bot');
    const campaign = await this.checkAccountAndCampaign(event.accountId, event.campaignId);
    if (typeof campaign === 'string') return this.reject(campaign);
    if (ctx.noConsent && !campaign.countAnonymous) return this.reject('consent_no_count');

    const dedupKey = event.type === 'conversion' && event.clickId ? this.dedupKey(event) : undefined;
    if (dedupKey && this.dedup.isDuplicate(dedupKey)) return this.reject('duplicate');

    try {
      const record = await this.toRecord(event, ctx);
      await this.props.sink.enqueue(record.sinkRecord);
      metrics.hits += 1;
      return { stored: true, id: record.id };
    } catch (err) {
      // Not stored: a retry of the same conversion must not count as a duplicate.
      if (dedupKey) this.dedup.forget(dedupKey);
      throw err;
    }
  }

  /**
   * Takes a batch from one request: every event is stored or rejected, or the call rejects and the
   * client retries the whole batch.
   */
  async ingestBatch(events: readonly TrackEvent[], ctx: HitContext): Promise<HitOutcome[]> {
    return Promise.all(events.map((e) => this.ingest(e, ctx)));
  }

  private reject(reason: RejectReason): HitOutcome {
    this.props.metrics.reject(reason);
    return { stored: false, reason };
  }

  private async checkAccountAndCampaign(
    accountId: string,
    campaignId: string,
  ): Promise<CampaignRecord | RejectReason> {
    const { directory } = this.props;
    const [account, campaign] = await Promise.all([
      directory.getAccount(accountId),
      directory.getCampaign(accountId, campaignId),
    ]);
    if (!account) return 'unknown_account';
    if (account.status !== 'active') return 'inactive_account';
    if (!campaign) return 'unknown_campaign';
    return campaign;
  }

  private dedupKey(event: TrackEvent): string {
    // Hashed so that click ids, which are personal, are not kept in clear even in memory.
    return createHash('sha256')
      .update(`${event.accountId}\0${event.clickId}\0${event.name ?? event.type}`)
      .digest('base64');
  }

  private async toRecord(
    event: TrackEvent,
    ctx: HitContext,
  ): Promise<{ id: string; sinkRecord: SinkRecord }> {
    const now = new Date(this.now());
    const receivedAt = now.toISOString();
    const dt = receivedAt.slice(0, 10);
    const id = randomUUID();
    let pii: EncryptedFields | undefined;
    if (!ctx.noConsent) {
      const personal: Record<string, string> = {};
      if (ctx.ip) personal.ip = ctx.ip;
      if (ctx.userAgent) personal.userAgent = ctx.userAgent;
      if (event.clickId) personal.clickId = event.clickId;
      if (Object.keys(personal).length > 0)
        pii = await this.props.encryptor.encryptFields(event.accountId, personal);
    }
    const stored: StoredEvent = {
      v: 1,
      id,
      accountId: event.accountId,
      campaignId: event.campaignId,
      type: event.type,
      name: event.name,
      url: event.url,
      referrer: event.referrer,
      ts: event.ts,
      orderId: event.orderId,
      value: event.value,
      currency: event.currency,
      receivedAt,
      dt,
      location: this.props.location,
      source: ctx.source,
      country: ctx.country,
      consent: ctx.noConsent ? 'anonymous' : 'full',
      pii,
    };
    return {
      id,
      sinkRecord: { data: Buffer.from(JSON.stringify(stored) + '\n'), accountId: event.accountId, dt },
    };
  }
}
