/**
 * The ingest pipeline shared by every route and both HTTP paths (express and the lean pixel path):
 * bot filter → account and campaign → page origin → consent → de-duplicate → enrich → encrypt personal
 * fields → sink. Validation and rate limiting happen before, at the edge of the HTTP layer.
 */
import { createHash } from 'node:crypto';
import { LIMITS, type Location } from '../../../../platform';
import type { EncryptedEnvelope } from '../crypto/data-keys';
import type { CachedLookups } from '../../../shared/directory/cached-directory';
import type { AccountRecord, CampaignRecord, Directory } from '../../../shared/directory/directory';
import { randomUuid } from '../../../shared/random-uuid';
import type { Metrics, RejectReason } from '../metrics';
import type { SinkRecord } from '../sinks/sink';
import { BotFilter } from './bot-filter';
import { DedupWindow } from './limits';
import { originAllowed } from './origins';
import { attributionParams, splitPageUrl, type PageUrlParts } from './page-url';
import { storedEventBytes, type HitSource, type StoredEvent } from './stored-event';
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
  /**
   * The same, synchronously, when the key is at hand; `undefined` when it is not (then `encryptFields`).
   * @default always `encryptFields`
   */
  encryptFieldsNow?(accountId: string, fields: Record<string, unknown>): EncryptedFields | undefined;
}

/** Accepts one record and resolves once it is in the sink or the spool. */
export interface RecordSink {
  enqueue(record: SinkRecord): Promise<void>;
}

/** Everything the pipeline needs. */
export interface IngestPipelineProps {
  /**
   * The directory, normally wrapped in a status cache ({@link CachedLookups}): then a hit whose account,
   * campaign and data key are all cached is stored without a single promise of its own but the sink's.
   */
  readonly directory: Directory & Partial<CachedLookups>;
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

/** A stored event as the sink takes it, and its id. */
interface StoredRecord {
  readonly id: string;
  readonly sinkRecord: SinkRecord;
}

/** What a stored event is made of, besides its sealed fields and attribution parameters. */
interface RecordParts {
  readonly event: TrackEvent;
  readonly ctx: HitContext;
  readonly receivedAt: string;
  readonly page: PageUrlParts | undefined;
  readonly referrer: PageUrlParts | undefined;
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
   * Never throws synchronously.
   */
  ingest(event: TrackEvent, ctx: HitContext): Promise<HitOutcome> {
    try {
      // A browser always sends a user agent: a hit without one comes from a script or a server.
      if (!ctx.authenticated && this.bots.isBot(ctx.userAgent)) return Promise.resolve(this.reject('bot'));
      // The common case, everything cached, goes on synchronously; only the sink's promise is awaited.
      const known = this.cachedAccountAndCampaign(event.accountId, event.campaignId);
      return known !== undefined
        ? this.admitAndStore(event, ctx, known)
        : this.checkAccountAndCampaign(event.accountId, event.campaignId).then((campaign) =>
            this.admitAndStore(event, ctx, campaign),
          );
    } catch (err) {
      return Promise.reject(err as Error);
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
    const { homeLocations, directory } = this.props;
    // One account per request is the common case (every pixel): no set, array or extra promises for it.
    if (Array.isArray(accountIds) && accountIds.length === 1)
      return this.misdirectedOne(accountIds[0] as string);
    const homes = await Promise.all(
      [...new Set(accountIds)].map(async (accountId) => ({
        accountId,
        home: homeLocations?.[accountId] ?? (await directory.getAccount(accountId))?.homeLocation,
      })),
    );
    for (const { accountId, home } of homes) if (this.isAway(home)) return { accountId, home };
    return undefined;
  }

  /**
   * {@link misdirected} for one account, without a promise when its home is known without a directory
   * call (the stage configuration, or the directory's cache).
   */
  misdirectedOne(accountId: string): Misdirected | undefined | Promise<Misdirected | undefined> {
    const { homeLocations, directory } = this.props;
    const configured = homeLocations?.[accountId];
    const cached = configured === undefined ? directory.peekAccount?.(accountId) : undefined;
    if (configured === undefined && cached === undefined)
      return directory.getAccount(accountId).then((account) => this.away(accountId, account?.homeLocation));
    return this.away(accountId, configured ?? cached?.value?.homeLocation);
  }

  private away(accountId: string, home: Location | undefined): Misdirected | undefined {
    return this.isAway(home) ? { accountId, home } : undefined;
  }

  private isAway(home: Location | undefined): home is Location {
    return home !== undefined && home !== this.props.location;
  }

  private reject(reason: RejectReason): HitOutcome {
    this.props.metrics.reject(reason);
    return { stored: false, reason };
  }

  /** The campaign's checks and the store, once account and campaign are known. */
  private admitAndStore(
    event: TrackEvent,
    ctx: HitContext,
    campaign: CampaignRecord | RejectReason,
  ): Promise<HitOutcome> {
    if (typeof campaign === 'string') return Promise.resolve(this.reject(campaign));
    if (!ctx.authenticated && !originAllowed(campaign.allowedOrigins, ctx.pageOrigin))
      return Promise.resolve(this.reject('origin_not_allowed'));
    if (ctx.noConsent && !campaign.countAnonymous) return Promise.resolve(this.reject('consent_no_count'));
    if (event.type === 'conversion' && event.clickId)
      return this.storeConversion(event, ctx, campaign, this.conversionKeys(event, ctx));
    const record = this.toRecord(event, ctx, campaign);
    return record instanceof Promise ? record.then((r) => this.store(r)) : this.store(record);
  }

  /** A conversion with a click id is stored once per de-duplication window: its claim comes first. */
  private async storeConversion(
    event: TrackEvent,
    ctx: HitContext,
    campaign: CampaignRecord,
    claim: { own: string; outranking?: string },
  ): Promise<HitOutcome> {
    if (!(await this.claim(event.accountId, claim))) return this.reject('duplicate');
    try {
      return await this.store(await this.toRecord(event, ctx, campaign));
    } catch (err) {
      // Not stored: a retry of the same conversion must not count as a duplicate.
      await this.release(event.accountId, claim.own);
      throw err;
    }
  }

  private async store(record: { id: string; sinkRecord: SinkRecord }): Promise<HitOutcome> {
    await this.props.sink.enqueue(record.sinkRecord);
    this.props.metrics.hits += 1;
    return { stored: true, id: record.id };
  }

  /**
   * What {@link checkAccountAndCampaign} would answer, from the directory's cache; `undefined` when
   * either is not cached.
   */
  private cachedAccountAndCampaign(
    accountId: string,
    campaignId: string,
  ): CampaignRecord | RejectReason | undefined {
    const { directory } = this.props;
    const account = directory.peekAccount?.(accountId);
    const campaign = account && directory.peekCampaign?.(accountId, campaignId);
    if (!account || !campaign) return undefined;
    return this.judge(account.value, campaign.value);
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
    return this.judge(account, campaign);
  }

  private judge(
    account: AccountRecord | undefined,
    campaign: CampaignRecord | undefined,
  ): CampaignRecord | RejectReason {
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

  /** The record to store; synchronous when there is nothing to seal or the data key is at hand. */
  private toRecord(
    event: TrackEvent,
    ctx: HitContext,
    campaign: CampaignRecord,
  ): StoredRecord | Promise<StoredRecord> {
    // The time of receipt, taken before any key load.
    const receivedAt = this.receivedAt();
    const page = event.url === undefined ? undefined : splitPageUrl(event.url);
    const referrer = event.referrer === undefined ? undefined : splitPageUrl(event.referrer);
    const parts = { event, ctx, receivedAt, page, referrer };
    if (ctx.noConsent) return this.record(parts, undefined, undefined);
    const params = attributionParams(page?.query, campaign.urlParams);
    let personal: Record<string, string> | undefined;
    if (ctx.ip) (personal ??= {}).ip = ctx.ip;
    if (ctx.userAgent) (personal ??= {}).userAgent = ctx.userAgent;
    if (event.clickId) (personal ??= {}).clickId = event.clickId;
    if (page?.hasMore) (personal ??= {}).url = event.url!;
    if (referrer?.hasMore) (personal ??= {}).referrer = event.referrer!;
    if (!personal) return this.record(parts, params, undefined);
    const { encryptor } = this.props;
    const sealed = encryptor.encryptFieldsNow?.(event.accountId, personal);
    if (sealed) return this.record(parts, params, sealed);
    return encryptor.encryptFields(event.accountId, personal).then((pii) => this.record(parts, params, pii));
  }

  private record(
    { event, ctx, receivedAt, page, referrer }: RecordParts,
    params: Record<string, string> | undefined,
    pii: EncryptedFields | undefined,
  ): StoredRecord {
    const dt = receivedAt.slice(0, 10);
    const id = randomUuid();
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
      sinkRecord: { data: storedEventBytes(stored), accountId: event.accountId, dt },
    };
  }
}
