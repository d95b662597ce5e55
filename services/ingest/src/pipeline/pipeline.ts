/**
 * The ingest pipeline shared by every route and both HTTP paths (express and the lean pixel path):
 * bot filter → account and campaign → page origin → consent → de-duplicate → enrich → encrypt personal
 * fields → sink. Validation and rate limiting happen before, at the edge of the HTTP layer.
 */
import { createHash, randomUUID } from 'node:crypto';
import { LIMITS, type Location } from '../../../../platform';
import type { EncryptedEnvelope } from '../crypto/data-keys';
import type { CampaignRecord, Directory } from '../../../shared/directory/directory';
import type { Metrics, RejectReason } from '../metrics';
import type { SinkRecord } from '../sinks/sink';
import { BotFilter } from './bot-filter';
import { DedupWindow } from './limits';
import { originAllowed } from './origins';
import { attributionParams, splitPageUrl } from './page-url';
import { serializeStoredEvent, type HitSource, type StoredEvent } from './stored-event';
import type { TrackEvent } from './validation';

export type { HitSource, StoredEvent } from './stored-event';

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
  /**
   * The hit came with a valid API key (a server postback): not a browser, so neither the bot filter nor
   * the campaign's allowed origins apply, and its conversions outrank browser-side ones.
   */
  readonly authenticated?: boolean;
  /**
   * Origin of the page a browser hit came from, as the browser reports it (see `pageOriginOf`): checked
   * against the campaign's `allowedOrigins`.
   */
  readonly pageOrigin?: string;
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
   * Home locations of resident accounts from the stage configuration (`TS_HOME_LOCATIONS`); an account
   * not named here may still have one in its directory record.
   * @default none: only directory records give accounts a home
   */
  readonly homeLocations?: Readonly<Record<string, Location>>;
  /**
   * Clock, in milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Remembers, for this process, the conversions the directory already knows, so a repeat costs no
   * directory call. The directory's claims are what makes de-duplication hold across instances.
   * @default a window of `LIMITS.dedupWindowSeconds`
   */
  readonly dedup?: DedupWindow;
  /**
   * Where a conversion claim could not be released after a failed store is reported.
   * @default ignored
   */
  readonly onReleaseError?: (err: unknown) => void;
  /**
   * The bot filter, with its memory of recent user agents.
   * @default a {@link BotFilter} of `DEFAULT_BOT_CACHE_ENTRIES` entries
   */
  readonly botFilter?: BotFilter;
}

/** An account whose hits this instance must not take (data residency), and where they belong. */
export interface Misdirected {
  readonly accountId: string;
  readonly home: Location;
}

/** What became of one hit. */
export type HitOutcome = { stored: true; id: string } | { stored: false; reason: RejectReason };

/** Runs hits through the pipeline. One instance per process. */
export class IngestPipeline {
  /** Where this instance serves: hits of accounts resident elsewhere are not taken. */
  readonly location: Location;
  private readonly props: IngestPipelineProps;
  private readonly now: () => number;
  private readonly dedup: DedupWindow;
  private readonly bots: BotFilter;
  private lastReceivedMs = NaN;
  private lastReceivedAt = '';

  constructor(props: IngestPipelineProps) {
    this.props = props;
    this.location = props.location;
    this.now = props.now ?? Date.now;
    this.dedup =
      props.dedup ?? new DedupWindow({ windowMs: LIMITS.dedupWindowSeconds * 1000, now: this.now });
    this.bots = props.botFilter ?? new BotFilter();
  }

  /**
   * Takes one validated event. Resolves once it is stored (in the sink or spool) or rejected with a
   * reason; rejects only when it could be neither stored nor spooled, so the caller must not acknowledge.
   */
  async ingest(event: TrackEvent, ctx: HitContext): Promise<HitOutcome> {
    const { metrics } = this.props;
    // A browser always sends a user agent: a hit without one comes from a script or a server.
    if (!ctx.authenticated && this.bots.isBot(ctx.userAgent)) return this.reject('bot');
    const campaign = await this.checkAccountAndCampaign(event.accountId, event.campaignId);
    if (typeof campaign === 'string') return this.reject(campaign);
    if (!ctx.authenticated && !originAllowed(campaign.allowedOrigins, ctx.pageOrigin))
      return this.reject('origin_not_allowed');
    if (ctx.noConsent && !campaign.countAnonymous) return this.reject('consent_no_count');

    const claim = event.type === 'conversion' && event.clickId ? this.conversionKeys(event, ctx) : undefined;
    if (claim && !(await this.claim(event.accountId, claim))) return this.reject('duplicate');

    try {
      const record = await this.toRecord(event, ctx, campaign);
      await this.props.sink.enqueue(record.sinkRecord);
      metrics.hits += 1;
      return { stored: true, id: record.id };
    } catch (err) {
      // Not stored: a retry of the same conversion must not count as a duplicate.
      if (claim) await this.release(event.accountId, claim.own);
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

  /**
   * The first of `accountIds` whose home location is not this instance's, or `undefined` when all may be
   * stored here. The stage configuration's `homeLocations` wins over the directory record (it is what the
   * edge routes by, and needs no directory call); unknown accounts have no home and are judged later.
   * Callers ask before storing any event of a request, so a request is refused whole.
   * @throws whatever the directory throws (the caller answers 503)
   */
  async misdirected(accountIds: Iterable<string>): Promise<Misdirected | undefined> {
    const { homeLocations, directory, location } = this.props;
    // One account per request is the common case (every pixel): no set, array or extra promises for it.
    if (Array.isArray(accountIds) && accountIds.length === 1) {
      const accountId = accountIds[0] as string;
      const home = homeLocations?.[accountId] ?? (await directory.getAccount(accountId))?.homeLocation;
      return home !== undefined && home !== location ? { accountId, home } : undefined;
    }
    const homes = await Promise.all(
      [...new Set(accountIds)].map(async (accountId) => ({
        accountId,
        home: homeLocations?.[accountId] ?? (await directory.getAccount(accountId))?.homeLocation,
      })),
    );
    for (const { accountId, home } of homes)
      if (home !== undefined && home !== location) return { accountId, home };
    return undefined;
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

  /**
   * The de-duplication keys of a conversion: (click id, event type) hashed, since click ids are personal,
   * and prefixed by trust level. A browser-side conversion (pixel, beacon) may never suppress an
   * authenticated one (a postback): the postback claims only its own level, so it is stored even after a
   * browser hit with the same click id, and readers let it supersede that one; a browser-side conversion
   * is a duplicate of either. The name is not part of the key: the same conversion under two names is
   * still one conversion.
   */
  private conversionKeys(event: TrackEvent, ctx: HitContext): { own: string; outranking?: string } {
    const hash = createHash('sha256')
      .update(`${event.accountId}\0${event.clickId}\0${event.type}`)
      .digest('base64url');
    return ctx.authenticated ? { own: `api#${hash}` } : { own: `web#${hash}`, outranking: `api#${hash}` };
  }

  /** Takes the conversion's claim in the directory; `false` when it is a duplicate. */
  private async claim(accountId: string, keys: { own: string; outranking?: string }): Promise<boolean> {
    const { directory } = this.props;
    const nowMs = this.now();
    // A claim this process took is known to live for the whole window; a repeat needs no directory call.
    if (this.dedup.has(`${accountId}/${keys.own}`)) return false;
    if (
      keys.outranking !== undefined &&
      (await directory.hasConversionClaim(accountId, keys.outranking, nowMs))
    )
      return false;
    const taken = await directory.claimConversion(
      { accountId, key: keys.own, expiresAtMs: nowMs + LIMITS.dedupWindowSeconds * 1000 },
      nowMs,
    );
    if (taken) this.dedup.remember(`${accountId}/${keys.own}`);
    return taken;
  }

  /** Gives a claim back after a failed store; a release that fails is reported, never thrown over the cause. */
  private async release(accountId: string, key: string): Promise<void> {
    this.dedup.forget(`${accountId}/${key}`);
    try {
      await this.props.directory.releaseConversion(accountId, key);
    } catch (err) {
      this.props.onReleaseError?.(err);
    }
  }

  /** The clock as an ISO timestamp; formatted once per millisecond, as a busy instance asks many times in one. */
  private receivedAt(): string {
    const ms = this.now();
    if (ms !== this.lastReceivedMs) {
      this.lastReceivedMs = ms;
      this.lastReceivedAt = new Date(ms).toISOString();
    }
    return this.lastReceivedAt;
  }

  private async toRecord(
    event: TrackEvent,
    ctx: HitContext,
    campaign: CampaignRecord,
  ): Promise<{ id: string; sinkRecord: SinkRecord }> {
    const receivedAt = this.receivedAt();
    const dt = receivedAt.slice(0, 10);
    const id = randomUUID();
    const page = event.url === undefined ? undefined : splitPageUrl(event.url);
    const referrer = event.referrer === undefined ? undefined : splitPageUrl(event.referrer);
    let pii: EncryptedFields | undefined;
    let params: Record<string, string> | undefined;
    if (!ctx.noConsent) {
      const personal: Record<string, string> = {};
      if (ctx.ip) personal.ip = ctx.ip;
      if (ctx.userAgent) personal.userAgent = ctx.userAgent;
      if (event.clickId) personal.clickId = event.clickId;
      if (page?.hasMore) personal.url = event.url!;
      if (referrer?.hasMore) personal.referrer = event.referrer!;
      if (Object.keys(personal).length > 0)
        pii = await this.props.encryptor.encryptFields(event.accountId, personal);
      params = attributionParams(page?.query, campaign.urlParams);
    }
    const stored: StoredEvent = {
      v: 1,
      id,
      accountId: event.accountId,
      campaignId: event.campaignId,
      type: event.type,
      name: event.name,
      url: page?.base,
      referrer: referrer?.base,
      params,
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
      sinkRecord: { data: Buffer.from(serializeStoredEvent(stored)), accountId: event.accountId, dt },
    };
  }
}
