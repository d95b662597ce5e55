/** Responses shared by the express routes and the lean path, written on plain node response objects. */
import { ServerResponse } from 'node:http';
import type { FieldIssue } from '../pipeline/validation';

/** The 43-byte transparent 1×1 GIF served by `/p.gif`. */
export const PIXEL_GIF = Buffer.from(
  'R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==',
  'base64',
);

/** Headers every response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  res.end(payload);
}

/** The pixel's headers, built once: this response is the hottest the service sends. */
const PIXEL_HEADER_OBJECT: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'content-type': 'image/gif',
  'content-length': String(PIXEL_GIF.length),
  'cache-control': 'no-store, max-age=0',
};
/**
 * The same as a flat list, the form node's `writeHead` takes fastest, with the request id last. One list
 * serves every response: `writeHead` reads it synchronously and keeps no reference to it.
 */
const PIXEL_HEADERS: string[] = [...Object.entries(PIXEL_HEADER_OBJECT).flat(), 'x-request-id', ''];
const REQUEST_ID_SLOT = PIXEL_HEADERS.length - 1;

/** Writes the pixel. */
export function sendPixel(res: ServerResponse, requestId: string): void {
  // A node response takes the flat list, its cheapest form. Adapters' subclasses (serverless-express on
  // Lambda) override `writeHead` for header objects only and would store a list's indices as header names.
  if (Object.getPrototypeOf(res) === ServerResponse.prototype) {
    PIXEL_HEADERS[REQUEST_ID_SLOT] = requestId;
    res.writeHead(200, PIXEL_HEADERS);
  } else res.writeHead(200, { ...PIXEL_HEADER_OBJECT, 'x-request-id': requestId });
  res.end(PIXEL_GIF);
}

/** A machine-readable error body. `field` names the offending field where there is one. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly field?: string;
  readonly issues?: readonly FieldIssue[];
  readonly requestId: string;
}

/** 400 naming the first bad field, with all issues listed. */
export function sendInvalid(res: ServerResponse, issues: readonly FieldIssue[], requestId: string): void {
  const first = issues[0] ?? { field: '(request)', message: 'is malformed' };
  const body: ErrorBody = {
    error: 'invalid_request',
    message: `${first.field}: ${first.message}`,
    field: first.field,
    issues,
    requestId,
  };
  sendJson(res, 400, body, requestId);
}

/** An error response without a field. */
export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, status, { error, message, requestId } satisfies ErrorBody, requestId);
}
