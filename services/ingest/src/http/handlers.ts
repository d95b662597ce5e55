/**
 * Route handlers written against plain node request and response objects, so that the express app and the
 * lean pixel path (see `lean.ts`) run exactly the same code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LIMITS } from '../../../../platform';
import { API_KEY_HEADER } from '../../../../platform/contracts/edge';
import { apiKeyMatches, parseApiKey } from '../api-keys';
import type { TrustedProxy } from '../../../../platform/contracts/ingest-env';
import type { Directory } from '../../../shared/directory/directory';
import type { Logger } from '../../../shared/logger';
import type { Metrics } from '../metrics';
import type { HitContext, HitSource, IngestPipeline, Misdirected } from '../pipeline/pipeline';
import { TokenBucketLimiter } from '../pipeline/limits';
import { originAllowed } from '../pipeline/origins';
import { parsePixelQuery } from '../pipeline/query-validation';
import type { FieldIssue, TrackEvent, Validated } from '../pipeline/validation';
import {
  clientIpOf,
  countryOf,
  fromCdn,
  pageOriginOf,
  requestIdOf,
  userAgentOf,
  withholdsConsent,
} from './request-context';
import { RecordTooLargeError } from '../sinks/errors';
import { logKeyAuth, type KeyAuthFailure } from './key-auth-log';
import { sendError, sendInvalid, sendPixel } from './respond';

/** Settings of the HTTP layer. */
export interface HandlerOptions {
  /**
   * Whose headers give the client IP and country (see `TS_TRUST_PROXY`).
   * @default 'none': the socket's address, no country
   */
  readonly trustProxy?: TrustedProxy;
  /**
   * Shared secret the CDN sends in `x-origin-verify`; requests without it get 403.
   * @default none: every request is accepted
   */
  readonly originSecret?: string;
  /**
   * Per-IP limiter.
   * @default `LIMITS.ipRatePerSecond`
   */
  readonly ipLimiter?: TokenBucketLimiter;
  /**
   * Per-API-key limiter.
   * @default `LIMITS.apiKeyRatePerSecond`
   */
  readonly keyLimiter?: TokenBucketLimiter;
  /**
   * Per-IP limiter of postbacks.
   * @default `LIMITS.postbackIpRatePerSecond`
   */
  readonly postbackIpLimiter?: TokenBucketLimiter;
  /**
   * Per-IP limiter of failed API-key attempts: once it is empty, the address gets 429 without its key
   * being looked at.
   * @default `LIMITS.authFailuresPerMinute`
   */
  readonly authFailureLimiter?: TokenBucketLimiter;
}

/** Dependencies of the handlers. */
export interface HandlerDeps {
  readonly pipeline: IngestPipeline;
  /** The directory behind the status cache, for API-key look-ups. */
  readonly directory: Directory;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** The result of authenticating a postback. */
export type AuthResult =
  | { ok: true; accountId: string; keyId: string }
  | {
      ok: false;
      /** 401 for the key, 422 for its account (as the pipeline answers a browser hit), 429 for a rate. */
      status: 401 | 422 | 429;
      /** The `error` code of the answer. */
      error: 'unauthorized' | 'inactive_account' | 'unknown_account' | 'rate_limited';
      message: string;
      /** What the log line says (the answer says less). */
      reason: KeyAuthFailure;
      retryAfterSeconds?: number;
    };

/** Where a postback's API key was presented. */
export type PresentedKey = { readonly key: string; readonly in: 'header' | 'url' };

/**
 * Compared against when the key id is unknown, so that an unknown id costs the hash and the comparison a
 * known one costs (its value matches no key: no SHA-256 is all zeros in practice).
 */
const NO_KEY_HASH = '0'.repeat(64);

// Read once: under tsx every use of a binding imported through the platform index is a getter chain.
const MAX_URL_BYTES = LIMITS.maxUrlBytes;

/** The handlers; one instance per process. */
export class IngestHandlers {
  readonly trustProxy: TrustedProxy;
  readonly originSecret: string | undefined;
  private readonly ipLimiter: TokenBucketLimiter;
  private readonly keyLimiter: TokenBucketLimiter;
  private readonly postbackIpLimiter: TokenBucketLimiter;
  private readonly authFailureLimiter: TokenBucketLimiter;

  constructor(
    private readonly deps: HandlerDeps,
    options: HandlerOptions = {},
  ) {
    this.trustProxy = options.trustProxy ?? 'none';
    this.originSecret = options.originSecret;
    this.ipLimiter = options.ipLimiter ?? new TokenBucketLimiter({ ratePerSecond: LIMITS.ipRatePerSecond });
    this.keyLimiter =
      options.keyLimiter ?? new TokenBucketLimiter({ ratePerSecond: LIMITS.apiKeyRatePerSecond });
    this.postbackIpLimiter =
      options.postbackIpLimiter ?? new TokenBucketLimiter({ ratePerSecond: LIMITS.postbackIpRatePerSecond });
    this.authFailureLimiter =
      options.authFailureLimiter ??
      new TokenBucketLimiter({
        ratePerSecond: LIMITS.authFailuresPerMinute / 60,
        burst: LIMITS.authFailuresPerMinute,
      });
  }

  /**
   * Checks that apply to every route: the origin secret and the URL size. Answers and returns `false`
   * when the request must go no further.
   */
  admit(req: IncomingMessage, res: ServerResponse, requestId: string): boolean {
    if (!fromCdn(req, this.originSecret)) {
      sendError(res, 403, 'forbidden', 'requests must come through the CDN', requestId);
      return false;
    }
    if ((req.url?.length ?? 0) > MAX_URL_BYTES) {
      this.deps.metrics.reject('oversized');
      sendError(res, 413, 'too_large', `the URL exceeds ${MAX_URL_BYTES} bytes`, requestId);
      return false;
    }
    return true;
  }

  /**
   * Builds the hit context of a request.
   * @param authenticated the request carried a valid API key (a postback): consent headers, which only
   *   browsers send, and the page origin do not apply
   */
  context(req: IncomingMessage, source: HitSource, requestId: string, authenticated = false): HitContext {
    return {
      source,
      requestId,
      ip: clientIpOf(req, this.trustProxy),
      userAgent: userAgentOf(req),
      country: countryOf(req, this.trustProxy),
      noConsent: !authenticated && withholdsConsent(req),
      authenticated,
      // Always present, so every context has one shape (a spread made two, and a slower object).
      pageOrigin: authenticated ? undefined : pageOriginOf(req),
    };
  }

  /**
   * Whether the client IP may send `events` more events now; each event of a batch costs a token, so a
   * batch cannot carry more than the per-IP rate allows. Counts the rejected events.
   */
  ipAllowed(ctx: HitContext, events = 1): boolean {
    if (ctx.ip === undefined || this.ipLimiter.take(ctx.ip, events)) return true;
    this.deps.metrics.reject('rate_limited', events);
    return false;
  }

  /** Seconds until the client IP may send again, for `Retry-After` (at least 1). */
  ipRetryAfter(ctx: HitContext): number {
    return ctx.ip === undefined ? 1 : Math.max(1, this.ipLimiter.retryAfterSeconds(ctx.ip));
  }

  /** `GET /p.gif`: always the GIF, unless the request is malformed (400) or cannot be stored (503). */
  async pixel(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Through express (on Lambda) the first middleware has already given the request its id and admitted
    // it; only the lean path does both here.
    const requestId = req.requestId ?? requestIdOf(req);
    if (req.requestId === undefined && !this.admit(req, res, requestId)) return;
    const parsed = this.parseQuery(req);
    if (!parsed.ok) return this.invalid(res, parsed.issues, requestId);
    const ctx = this.context(req, 'pixel', requestId);
    try {
      // Before the rate limit: a resident's hit is refused here whatever else would become of it.
      const known = this.deps.pipeline.misdirectedOne(parsed.value.accountId);
      const away = known instanceof Promise ? await known : known;
      if (away) return this.misdirected(res, away, requestId);
      if (this.ipAllowed(ctx)) await this.deps.pipeline.ingest(parsed.value, ctx);
    } catch (err) {
      return this.unavailable(res, err, requestId);
    }
    sendPixel(res, requestId);
  }

  /**
   * Whether the page embedding an iframe tag may send hits for its campaign (`allowedOrigins`). The iframe's
   * own beacon then comes from the service's origin, so this is where the embedding page is checked.
   * @throws whatever the directory throws (the caller answers 503)
   */
  async iframeAllowed(req: IncomingMessage, event: TrackEvent): Promise<boolean> {
    const campaign = await this.deps.directory.getCampaign(event.accountId, event.campaignId);
    // An unknown campaign gets the document; its beacon is refused and counted by the pipeline.
    if (!campaign || originAllowed(campaign.allowedOrigins, pageOriginOf(req))) return true;
    this.deps.metrics.reject('origin_not_allowed');
    return false;
  }

  /** Validates the query string of a pixel or iframe request. */
  parseQuery(req: IncomingMessage): Validated<TrackEvent> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    return parsePixelQuery(q < 0 ? '' : url.slice(q + 1));
  }

  /** Answers 400 naming the field. */
  invalid(res: ServerResponse, issues: readonly FieldIssue[], requestId: string): void {
    this.deps.metrics.reject('malformed');
    sendInvalid(res, issues, requestId);
  }

  /**
   * Answers 421 (Misdirected Request) for a hit of an account resident elsewhere, the pixel included (no
   * GIF: a 421 tells whoever misrouted it). The edge routes residents home; this holds residency for a
   * forged `a`, a stale edge store or a request sent straight to a region.
   * @param events how many events the request carried, all refused
   */
  misdirected(res: ServerResponse, away: Misdirected, requestId: string, events = 1): void {
    this.deps.metrics.reject('misdirected', events);
    sendError(
      res,
      421,
      'misdirected',
      `account ${away.accountId} is resident in ${away.home}, and this is ${this.deps.pipeline.location}: its hits are only taken there (send them through the CDN, which routes them home)`,
      requestId,
    );
  }

  /**
   * Answers 503 when a hit could be neither stored nor spooled, or the directory could not be read (the
   * client must retry), and 413 when the event is too large to store.
   */
  unavailable(res: ServerResponse, err: unknown, requestId: string): void {
    if (err instanceof RecordTooLargeError) {
      this.deps.metrics.reject('oversized');
      return sendError(res, 413, 'too_large', err.message, requestId);
    }
    this.deps.logger.error(
      { err, requestId },
      'request not served: the sink and spool, or the directory, are unavailable',
    );
    sendError(res, 503, 'unavailable', 'the event could not be stored; retry later', requestId, {
      'retry-after': '5',
    });
  }

  /**
   * Authenticates a postback: the client IP's postback rate and failed attempts first, then the key
   * (header `x-api-key`, or `Authorization: Bearer` where no CDN signs the request; the `key` query
   * parameter only for keys that allow it), then its account's status, then the key's own rate. Every
   * attempt that gets an answer writes one `api key authentication` line (see `key-auth-log.ts`); one the
   * directory could not answer (503) writes the error line instead.
   *
   * An unknown key id costs what a known one does: both are read through the same status cache (found and
   * not-found entries live equally long), both presented keys are hashed and compared, and the answer is the
   * same. So the time of an answer tells whether the id was asked for in the last minute, not whether it
   * exists; and each address may fail only `LIMITS.authFailuresPerMinute` times a minute.
   * @throws whatever the directory throws (the caller answers 503)
   */
  async authenticate(
    req: IncomingMessage,
    presented: PresentedKey | undefined,
    requestId: string,
  ): Promise<AuthResult> {
    const clientIp = clientIpOf(req, this.trustProxy);
    const result = await this.checkKey(clientIp ?? 'unknown', presented);
    logKeyAuth(this.deps.logger, {
      keyId: result.ok ? result.keyId : presented && parseApiKey(presented.key)?.keyId,
      failure: result.ok ? undefined : result.reason,
      clientIp,
      country: countryOf(req, this.trustProxy),
      requestId,
    });
    return result;
  }

  private async checkKey(ip: string, presented: PresentedKey | undefined): Promise<AuthResult> {
    const throttled = (
      limiter: TokenBucketLimiter,
      message: string,
      reason: KeyAuthFailure,
      key: string,
    ): AuthResult => {
      this.deps.metrics.reject('rate_limited');
      return {
        ok: false,
        status: 429,
        error: 'rate_limited',
        message,
        reason,
        retryAfterSeconds: Math.max(1, limiter.retryAfterSeconds(key)),
      };
    };
    if (!this.postbackIpLimiter.take(ip))
      return throttled(
        this.postbackIpLimiter,
        'too many postbacks from this address',
        'address_throttled',
        ip,
      );
    if (this.authFailureLimiter.retryAfterSeconds(ip) > 0)
      return throttled(
        this.authFailureLimiter,
        'too many failed API-key attempts from this address',
        'address_throttled',
        ip,
      );
    const deny = (message: string, reason: KeyAuthFailure): AuthResult => {
      this.deps.metrics.reject('unauthorized');
      this.authFailureLimiter.take(ip);
      return { ok: false, status: 401, error: 'unauthorized', message, reason };
    };
    // x-api-key first: through the CDN, origin access control replaces `Authorization` with its signature.
    if (!presented?.key)
      return deny(
        `an API key is required: send it in the ${API_KEY_HEADER} header (${API_KEY_HEADER}: tsk_...); Authorization: Bearer works only when not through the CDN`,
        'missing',
      );
    const parsed = parseApiKey(presented.key);
    if (!parsed) return deny('the API key is malformed: expected tsk_<keyid>_<secret>', 'malformed');
    const record = await this.deps.directory.getApiKey(parsed.keyId);
    const matches = apiKeyMatches(presented.key, record?.secretHash ?? NO_KEY_HASH);
    // One message for unknown, wrong and revoked keys, so a caller learns nothing about which it was.
    if (!record || !matches || record.status !== 'active')
      return deny(
        'the API key is not valid',
        !record ? 'unknown_key' : !matches ? 'wrong_secret' : 'revoked',
      );
    // Only the key's owner gets here, so the precise messages give nothing away.
    if (presented.in === 'url' && record.allowInUrl !== true)
      return deny(
        `this API key may not be sent in the URL, where logs keep it: send it in the ${API_KEY_HEADER} header (or Authorization: Bearer <key> when not through the CDN)`,
        'url_not_allowed',
      );
    // The pipeline checks the account again for the hit; both reads go through the status cache. Checked
    // here so that the key of a closed account shows in the authentication log, answered as the pipeline
    // answers it (422), and not counted as a guess against the address.
    const account = await this.deps.directory.getAccount(record.accountId);
    if (!account || account.status !== 'active') {
      const error = account ? 'inactive_account' : 'unknown_account';
      this.deps.metrics.reject(error);
      return {
        ok: false,
        status: 422,
        error,
        message: `the conversion was not recorded: ${error}`,
        reason: 'inactive_account',
      };
    }
    if (!this.keyLimiter.take(parsed.keyId))
      return throttled(
        this.keyLimiter,
        'the API key is over its rate limit',
        'key_rate_limited',
        parsed.keyId,
      );
    return { ok: true, accountId: record.accountId, keyId: parsed.keyId };
  }
}

/**
 * Extracts the API key a postback presents, and where: `x-api-key` first (the header that survives the CDN,
 * whose origin access control signs `Authorization`), then `Authorization: Bearer`, then the `key` query
 * parameter.
 */
export function presentedApiKey(req: IncomingMessage): PresentedKey | undefined {
  const header = req.headers[API_KEY_HEADER];
  if (typeof header === 'string') return { key: header.trim(), in: 'header' };
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return { key: auth.slice(7).trim(), in: 'header' };
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const key = q >= 0 ? new URLSearchParams(url.slice(q + 1)).get('key') : null;
  return key === null ? undefined : { key, in: 'url' };
}
