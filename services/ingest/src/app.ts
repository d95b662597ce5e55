/**
 * The ingest service's express app. Built here, listened to only in `server.ts` (or adapted to Lambda in
 * `lambda.ts`), so tests drive the app directly.
 */
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { LIMITS } from '../../../platform';
import { CONTENT_SHA256_HEADER } from '../../../platform/contracts/edge';
import { accountParamMismatch, accountParamOf } from './http/account-param';
import { contentSha256Guard } from './http/content-sha256';
import { presentedApiKey, type IngestHandlers } from './http/handlers';
import { iframeHtml } from './http/iframe';
import { localRoutes, type LocalModeOptions } from './http/local-routes';
import { requestIdOf } from './http/request-context';
import { SECURITY_HEADERS, sendError, sendJson } from './http/respond';
import type { Logger } from '../../shared/logger';
import type { Metrics } from './metrics';
import type { IngestPipeline } from './pipeline/pipeline';
import { parseCollectBody, parsePostback, postbackFromQuery } from './pipeline/validation';

/** A dependency's readiness: `ok` or the reason it is not ready. */
export type ReadinessReport = Record<string, string>;

/** What the app needs. */
export interface AppDeps {
  readonly handlers: IngestHandlers;
  readonly pipeline: IngestPipeline;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Checks the sink, the key provider and the directory. */
  readonly readiness: () => Promise<ReadinessReport>;
  /**
   * Serve the snippet, campaign configs and the demo page as the CDN would.
   * @default undefined: not served (cloud deployments serve them from the CDN)
   */
  readonly local?: LocalModeOptions;
}

declare module 'http' {
  interface IncomingMessage {
    /** Request id, set by the first middleware. */
    requestId?: string;
  }
}

const rid = (req: Request): string => req.requestId ?? 'unknown';

/** Builds the ingest app. */
export function createApp(deps: AppDeps): Express {
  const { handlers, pipeline, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const requestId = requestIdOf(req);
    req.requestId = requestId;
    res.set(SECURITY_HEADERS);
    res.set('x-request-id', requestId);
    if (req.path === '/healthz') return next();
    if (handlers.admit(req, res, requestId)) next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Anyone can ask: the answer names the failing dependency but not why (paths, hosts, SDK messages);
  // the reason goes to the log.
  app.get('/readyz', async (req, res) => {
    const report = await deps.readiness();
    const ready = Object.values(report).every((v) => v === 'ok');
    const checks: Record<string, 'ok' | 'failed'> = {};
    for (const [name, outcome] of Object.entries(report)) checks[name] = outcome === 'ok' ? 'ok' : 'failed';
    if (!ready) logger.warn({ checks: report, requestId: rid(req) }, 'not ready');
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks }, rid(req));
  });

  app.get('/p.gif', (req, res) => handlers.pixel(req, res));

  // A POST's declared body hash is checked as Lambda checks it behind the CDN (see content-sha256.ts).
  const sha256 = contentSha256Guard((req, res, issue) =>
    handlers.invalid(res, [issue], req.requestId ?? 'unknown'),
  );
  const bodyLimit = { limit: LIMITS.maxBodyBytes, verify: sha256.verify };

  // The snippet sends beacons with fetch (text/plain, keepalive) and the body's hash in a header, which
  // makes a cross-origin beacon preflighted; `navigator.sendBeacon` (no header) is its fallback.
  // The beacon carries the visitor's cookies (the opt-out cookie must reach the service), and a credentialed
  // cross-origin request needs its own origin echoed with allow-credentials, never `*`. The answer holds
  // nothing but counts, and allowed origins are enforced by the pipeline, not by CORS.
  const cors = (req: Request, res: Response, next: () => void) => {
    const origin = req.headers.origin;
    res.set(
      origin && origin !== 'null'
        ? {
            'access-control-allow-origin': origin,
            'access-control-allow-credentials': 'true',
            vary: 'origin',
          }
        : { 'access-control-allow-origin': '*' },
    );
    res.set({
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': `content-type, ${CONTENT_SHA256_HEADER}`,
      'access-control-max-age': '86400',
    });
    next();
  };
  app.options('/collect', cors, (_req, res) => {
    res.status(204).end();
  });
  app.post(
    '/collect',
    cors,
    requireContentType(['application/json', 'text/plain']),
    sha256.declared,
    express.json({ ...bodyLimit, type: 'application/json', strict: true }),
    express.text({ ...bodyLimit, type: 'text/plain' }),
    sha256.matched,
    async (req, res) => {
      const requestId = rid(req);
      const a = accountParamOf(req);
      if (!a.ok) return handlers.invalid(res, a.issues, requestId);
      let body: unknown = req.body;
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body);
        } catch {
          return handlers.invalid(res, [{ field: '(body)', message: 'must be valid JSON' }], requestId);
        }
      }
      const parsed = parseCollectBody(body);
      if (!parsed.ok) return handlers.invalid(res, parsed.issues, requestId);
      const accounts = parsed.value.map((e) => e.accountId);
      const mismatch = accountParamMismatch(a.value, accounts, 'an event of the body is for account');
      if (mismatch) return handlers.invalid(res, [mismatch], requestId);
      const ctx = handlers.context(req, 'beacon', requestId);
      try {
        // Before the rate limit and before any event is stored: a batch is refused whole.
        const away = await pipeline.misdirected(accounts);
        if (away) return handlers.misdirected(res, away, requestId, parsed.value.length);
        if (!handlers.ipAllowed(ctx, parsed.value.length))
          return sendError(res, 429, 'rate_limited', 'too many events from this address', requestId, {
            'retry-after': String(handlers.ipRetryAfter(ctx)),
          });
        const outcomes = await pipeline.ingestBatch(parsed.value, ctx);
        sendJson(
          res,
          202,
          { received: outcomes.length, stored: outcomes.filter((o) => o.stored).length },
          requestId,
        );
      } catch (err) {
        handlers.unavailable(res, err, requestId);
      }
    },
  );

  app.get('/i', async (req, res) => {
    const requestId = rid(req);
    const parsed = handlers.parseQuery(req);
    if (!parsed.ok) return handlers.invalid(res, parsed.issues, requestId);
    try {
      // The document only posts its hit to /collect, which would refuse it too; refusing here says so first.
      const away = await pipeline.misdirected([parsed.value.accountId]);
      if (away) return handlers.misdirected(res, away, requestId);
      if (!(await handlers.iframeAllowed(req, parsed.value)))
        return sendError(
          res,
          403,
          'origin_not_allowed',
          'the campaign does not take hits from this page',
          requestId,
        );
    } catch (err) {
      return handlers.unavailable(res, err, requestId);
    }
    const { html, nonce } = iframeHtml(parsed.value);
    res.set({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; img-src 'self'; connect-src 'self'; frame-ancestors *`,
    });
    res.send(html);
  });

  const postback = async (req: Request, res: Response, raw: Record<string, unknown>) => {
    const requestId = rid(req);
    const a = accountParamOf(req);
    if (!a.ok) return handlers.invalid(res, a.issues, requestId);
    let auth;
    try {
      auth = await handlers.authenticate(req, presentedApiKey(req), requestId);
    } catch (err) {
      // The directory could not say whether the key is valid: the affiliate network must retry.
      return handlers.unavailable(res, err, requestId);
    }
    if (!auth.ok)
      return sendError(
        res,
        auth.status,
        auth.error,
        auth.message,
        requestId,
        auth.retryAfterSeconds === undefined ? {} : { 'retry-after': String(auth.retryAfterSeconds) },
      );
    const parsed = parsePostback(raw);
    if (!parsed.ok) return handlers.invalid(res, parsed.issues, requestId);
    const mismatch = accountParamMismatch(a.value, [auth.accountId], "the API key's account");
    if (mismatch) return handlers.invalid(res, [mismatch], requestId);
    const ctx = handlers.context(req, 'postback', requestId, true);
    try {
      const away = await pipeline.misdirected([auth.accountId]);
      if (away) return handlers.misdirected(res, away, requestId);
      const outcome = await pipeline.ingest({ ...parsed.value, accountId: auth.accountId }, ctx);
      if (outcome.stored) return sendJson(res, 202, { status: 'stored', id: outcome.id }, requestId);
      if (outcome.reason === 'duplicate') return sendJson(res, 200, { status: 'duplicate' }, requestId);
      return sendError(
        res,
        422,
        outcome.reason,
        `the conversion was not recorded: ${outcome.reason}`,
        requestId,
      );
    } catch (err) {
      handlers.unavailable(res, err, requestId);
    }
  };
  app.get('/postback', (req, res) => {
    const url = req.url;
    const q = url.indexOf('?');
    const fields = postbackFromQuery(new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
    if (!fields.ok) return handlers.invalid(res, fields.issues, rid(req));
    return postback(req, res, fields.value);
  });
  app.post(
    '/postback',
    requireContentType(['application/json']),
    sha256.declared,
    express.json({ ...bodyLimit, type: 'application/json', strict: true }),
    sha256.matched,
    (req, res) => postback(req, res, req.body as Record<string, unknown>),
  );

  if (deps.local) app.use(localRoutes(deps.local));

  app.use((req, res) => {
    deps.metrics.reject('not_found');
    sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`, rid(req));
  });

  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const requestId = rid(req);
    const e = err as { status?: number; statusCode?: number; type?: string; message?: string };
    const status = e.status ?? e.statusCode ?? 500;
    if (res.headersSent) return void res.destroy();
    if (status === 413) {
      deps.metrics.reject('oversized');
      return sendError(res, 413, 'too_large', `the body exceeds ${LIMITS.maxBodyBytes} bytes`, requestId);
    }
    if (status >= 400 && status < 500) {
      deps.metrics.reject('malformed');
      // body-parser's errors carry an `entity.*` or `encoding.*` type; the router's (a bad percent-escape
      // in the path) carry none.
      const field = e.type ? '(body)' : '(path)';
      const message = e.type === 'entity.parse.failed' ? 'must be valid JSON' : (e.message ?? 'is malformed');
      return sendJson(
        res,
        status,
        { error: 'invalid_request', message: `${field}: ${message}`, field, requestId },
        requestId,
      );
    }
    logger.error({ err, requestId }, 'unhandled error');
    sendError(res, 500, 'internal', 'internal error', requestId);
  };
  app.use(onError);
  return app;
}

/** 415 unless the body has one of the given media types, in UTF-8 (the only charset the service decodes). */
function requireContentType(types: readonly string[]) {
  return (req: Request, res: Response, next: () => void) => {
    const [type = '', ...params] = (req.headers['content-type'] ?? '').toLowerCase().split(';');
    if (!types.includes(type.trim()))
      return sendError(
        res,
        415,
        'unsupported_media_type',
        `content-type must be one of ${types.join(', ')}`,
        rid(req),
      );
    const charset = params.map((p) => p.trim()).find((p) => p.startsWith('charset='));
    if (charset && !/^charset="?utf-?8"?$/.test(charset))
      return sendError(
        res,
        415,
        'unsupported_media_type',
        'the body must be UTF-8 (charset=utf-8)',
        rid(req),
      );
    next();
  };
}
