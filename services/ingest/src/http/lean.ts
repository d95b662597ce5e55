/**
 * The lean path. Express's routing and its request/response decoration cost more than the whole pixel
 * pipeline, so the hottest route, `GET /p.gif`, is answered by a plain node request listener placed in
 * front of the express app. It calls the very same handler (`IngestHandlers.pixel`) that the express route
 * calls; every other request falls through to express unchanged.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { IngestHandlers } from './handlers';
import { sendError } from './respond';

/** Wraps the express app with the lean pixel path. */
export function leanListener(app: RequestListener, handlers: IngestHandlers): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    // Only origin-form targets (`/path?query`) are served; absolute-form is for proxies and `*` for OPTIONS.
    if (url.charCodeAt(0) !== 47 /* / */) {
      sendError(
        res,
        400,
        'invalid_request',
        'the request target must be a path starting with /',
        'invalid-target',
      );
      return;
    }
    if (
      req.method === 'GET' &&
      url.startsWith('/p.gif') &&
      (url.length === 6 || url.charCodeAt(6) === 63) /* ? */
    ) {
      handlers.pixel(req, res).catch((err: unknown) => {
        if (!res.headersSent) handlers.unavailable(res, err, 'lean');
      });
      return;
    }
    app(req, res);
  };
}
