/**
 * The body hash a POST carries in `x-amz-content-sha256`. Through the CDN, CloudFront's origin access
 * control signs the request to the Lambda Function URL with this value as the payload hash, and Lambda
 * refuses a POST whose body does not hash to it (or that has none) without running the function. The
 * origin checks the same here, so a client that would be refused in the cloud is refused locally too, with
 * a message that says why: this is how the snippet is tested for it.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_SHA256_HEADER } from '../../../../platform/contracts/edge';
import type { FieldIssue } from '../pipeline/validation';

/** What a request declares about its body's hash. */
export type DeclaredContentSha256 =
  | { readonly ok: true; readonly hex: string | undefined }
  | { readonly ok: false; readonly issue: FieldIssue };

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads and checks the form of `x-amz-content-sha256`: absent (`hex` undefined), or 64 lowercase hex
 * digits. `UNSIGNED-PAYLOAD` is refused by name: S3 takes it, but Lambda behind origin access control does
 * not for a POST, so a client sending it would work locally and fail in the cloud.
 */
export function declaredContentSha256(req: IncomingMessage): DeclaredContentSha256 {
  const value = req.headers[CONTENT_SHA256_HEADER];
  if (value === undefined) return { ok: true, hex: undefined };
  const issue = (message: string): DeclaredContentSha256 => ({
    ok: false,
    issue: { field: CONTENT_SHA256_HEADER, message },
  });
  if (typeof value !== 'string') return issue('must be given once');
  if (value.toUpperCase() === 'UNSIGNED-PAYLOAD')
    return issue(
      'UNSIGNED-PAYLOAD is not accepted: Lambda refuses an unsigned POST through the CDN; send the SHA-256 of the body as 64 lowercase hex digits',
    );
  if (!HEX_SHA256.test(value))
    return issue('must be the SHA-256 of the body as 64 lowercase hex digits (e.g. the output of sha256sum)');
  return { ok: true, hex: value };
}

/** SHA-256 of a body, lowercase hex. */
export function sha256Hex(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * Compares a declared hash with the body as received (its raw bytes, before any decoding).
 * @returns the issue naming the header, or `undefined` when they agree
 */
export function contentSha256Mismatch(declared: string, body: Buffer): FieldIssue | undefined {
  const actual = sha256Hex(body);
  if (actual === declared) return undefined;
  return {
    field: CONTENT_SHA256_HEADER,
    message: `is not the SHA-256 of the body received (${body.length} bytes, SHA-256 ${actual}): hash the exact bytes sent, after encoding`,
  };
}

declare module 'http' {
  interface IncomingMessage {
    /** The body hash the request declared, once its form is checked (see {@link contentSha256Guard}). */
    declaredSha256?: string;
    /** Set once the body has been read and compared: the issue, or `null` when it matched. */
    bodySha256Issue?: FieldIssue | null;
  }
}

/** The three steps that check a POST's `x-amz-content-sha256` around express's body parsers. */
export interface ContentSha256Guard {
  /** Before the body is read: refuses a malformed header (no body is read for nothing). */
  readonly declared: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  /** The body parsers' `verify` option: compares the declared hash with the raw bytes. */
  readonly verify: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  /** After the body parsers: refuses a mismatch (an absent body hashes as empty). */
  readonly matched: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
}

/**
 * Builds the guard.
 * @param refuse answers 400 with the issue (it names the header)
 */
export function contentSha256Guard(
  refuse: (req: IncomingMessage, res: ServerResponse, issue: FieldIssue) => void,
): ContentSha256Guard {
  return {
    declared(req, res, next) {
      const declared = declaredContentSha256(req);
      if (!declared.ok) return refuse(req, res, declared.issue);
      req.declaredSha256 = declared.hex;
      next();
    },
    verify(req, _res, body) {
      if (req.declaredSha256 !== undefined)
        req.bodySha256Issue = contentSha256Mismatch(req.declaredSha256, body) ?? null;
    },
    matched(req, res, next) {
      if (req.declaredSha256 === undefined) return next();
      // `undefined`: the parsers read no body (none was sent), so the declared hash must be the empty one's.
      const issue =
        req.bodySha256Issue === undefined
          ? contentSha256Mismatch(req.declaredSha256, Buffer.alloc(0))
          : req.bodySha256Issue;
      if (issue) return refuse(req, res, issue);
      next();
    },
  };
}
