/**
 * Route handlers written against plain node request and response objects, so that the express app and the
 * lean pixel path (see `lean.ts`) run exactly the same code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LIMITS } from '../../../../infra/platform';
import { apiKeyMatches, parseApiKey } from '../api-keys';
import type { Directory } from '../directory/directory';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { HitContext, HitSource, IngestPipeline } from '../pipeline/pipeline';
import { TokenBucketLimiter } from '../pipeline/limits';
import { parseQueryEvent, type FieldIssue, type TrackEvent, type Validated } from '../pipeline/validation';
import {
  clientIpOf,
  countryOf,
  fromCdn,
  requestIdOf,
  userAgentOf,
  withholdsConsent,
} from './request-context';
import { RecordTooLargeError } from '../sinks/buffered-sink';
import { sendError, sendInvalid, sendPixel } from './respond';

/** Settings of the HTTP layer. */
export interface HandlerOptions {
  /**
   * Trust the CDN's client-IP and country headers.
   * @default false
   */
  readonly trustProxy?: boolean;
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
  { ok: true; accountId: string; keyId: string } | { ok: false; status: 401 | 429; message: string };

/** The handlers; one instance per process. */
export class IngestHandlers {
  readonly trustProxy: boolean;
  readonly originSecret: string | undefined;
  private readonly ipLimiter: TokenBucketLimiter;
  private readonly keyLimiter: TokenBucketLimiter;

  constructor(
    private readonly deps: HandlerDeps,
    options: HandlerOptions = {},
  ) {
    this.trustProxy = options.trustProxy ?? false;
    this.originSecret = options.originSecret;
    this.ipLimiter = options.ipLimiter ?? new TokenBucketLimiter({ ratePerSecond: LIMITS.ipRatePerSecond });
    this.keyLimiter =
      options.keyLimiter ?? new TokenBucketLimiter({ ratePerSecond: LIMITS.apiKeyRatePerSecond });
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
    if ((req.url?.length ?? 0) > LIMITS.maxUrlBytes) {
      this.deps.metrics.reject('oversized');
      sendError(res, 413, 'too_large', `the URL exceeds ${LIMITS.maxUrlBytes} bytes`, requestId);
      return false;
    }
    return true;
  }

  /** Builds the hit context of a request. */
  context(req: IncomingMessage, source: HitSource, requestId: string, trustedServer = false): HitContext {
    return {
      source,
      requestId,
      ip: clientIpOf(req, this.trustProxy),
      userAgent: userAgentOf(req),
      country: countryOf(req, this.trustProxy),
      noConsent: !trustedServer && withholdsConsent(req),
      trustedServer,
    };
  }

  /** Whether the client IP is within its rate. */
  ipAllowed(ctx: HitContext): boolean {
    if (ctx.ip === undefined || this.ipLimiter.take(ctx.ip)) return true;
    this.deps.metrics.reject('rate_limited');
    return false;
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
    if (this.ipAllowed(ctx)) {
      try {
        await this.deps.pipeline.ingest(parsed.value, ctx);
      } catch (err) {
        return this.unavailable(res, err, requestId);
      }
    }
    sendPixel(res, requestId);
  }

  /** Validates the query string of a pixel or iframe request. */
  parseQuery(req: IncomingMessage): Validated<TrackEvent> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    return parseQueryEvent(new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
  }

  /** Answers 400 naming the field. */
  invalid(res: ServerResponse, issues: readonly FieldIssue[], requestId: string): void {
    this.deps.metrics.reject('malformed');
    sendInvalid(res, issues, requestId);
  }

  /** Answers 503 when a hit could be neither stored nor spooled (the client must retry), 413 when it is too large to store. */
  unavailable(res: ServerResponse, err: unknown, requestId: string): void {
    if (err instanceof RecordTooLargeError) {
      this.deps.metrics.reject('oversized');
      return sendError(res, 413, 'too_large', err.message, requestId);
    }
    this.deps.logger.error({ err, requestId }, 'event could not be stored or spooled');
    sendError(res, 503, 'unavailable', 'the event could not be stored; retry later', requestId, {
      'retry-after': '5',
    });
  }

  /** Authenticates a postback's API key (header `Authorization: Bearer`, `x-api-key`, or `key` parameter). */
  async authenticate(presented: string | undefined): Promise<AuthResult> {
    const deny = (message: string): AuthResult => {
      this.deps.metrics.reject('unauthorized');
      return { ok: false, status: 401, message };
    };
    if (!presented) return deny('an API key is required (Authorization: Bearer tsk_...)');
    const parsed = parseApiKey(presented);
    if (!parsed) return deny('the API key is malformed: expected tsk_<keyid>_<secret>');
    const record = await this.deps.directory.getApiKey(parsed.keyId);
    // One message for unknown, wrong and revoked keys, so a caller learns nothing about which it was.
    if (!record || record.status !== 'active' || !apiKeyMatches(presented, record.secretHash))
      return deny('the API key is not valid');
    if (!this.keyLimiter.take(parsed.keyId)) {
      this.deps.metrics.reject('rate_limited');
      return { ok: false, status: 429, message: 'the API key is over its rate limit' };
    }
    return { ok: true, accountId: record.accountId, keyId: parsed.keyId };
  }
}

/** Extracts the API key a postback presents. */
export function presentedApiKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header.trim();
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q >= 0) return new URLSearchParams(url.slice(q + 1)).get('key') ?? undefined;
  return undefined;
}
