/**
 * The stored form of an event and its serialization, the one line of NDJSON every sink writes.
 *
 * `JSON.stringify` of this object was a tenth of the pixel path's CPU: V8 takes its slow path for an
 * object with many `undefined` fields. The serializer below writes the same bytes (same key order, same
 * escaping, absent fields left out) by concatenation, with `JSON.stringify` kept for every value that
 * came from a client, so escaping is never hand-written.
 */
import type { Location } from '../../../../platform';
import type { EncryptedEnvelope } from '../crypto/data-keys';

/** Where a hit came in. */
export type HitSource = 'pixel' | 'beacon' | 'iframe' | 'postback';

/** The event as it is stored: no personal field in clear. */
export interface StoredEvent {
  readonly v: 1;
  readonly id: string;
  readonly accountId: string;
  readonly campaignId: string;
  readonly type: string;
  readonly name?: string;
  /** The page's origin and path only; the rest, with consent, is in `pii`. */
  readonly url?: string;
  /** The referrer's origin and path only; the rest, with consent, is in `pii`. */
  readonly referrer?: string;
  /** The campaign's attribution parameters of the page URL (`utm_*`, …), with consent only. */
  readonly params?: Readonly<Record<string, string>>;
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
  readonly pii?: EncryptedEnvelope;
}

const str = JSON.stringify;

/** An optional field as `,"key":value`, or nothing when it is absent (as `JSON.stringify` omits it). */
function opt(key: string, value: string | number | object | undefined): string {
  return value === undefined ? '' : `,"${key}":${str(value)}`;
}

/**
 * `JSON.stringify(event) + '\n'`, byte for byte, several times faster. The key order is the order of
 * {@link StoredEvent}'s fields, which is the order readers see.
 *
 * Values the service itself produces in a JSON-safe alphabet are written without escaping: the id (a
 * UUID), `receivedAt` and `dt` (ISO 8601), `location`, `source` and `consent` (closed sets), and the
 * envelope's algorithm and ciphertext (a constant and base64). Everything else goes through
 * `JSON.stringify`.
 */
export function serializeStoredEvent(e: StoredEvent): string {
  const pii = e.pii;
  // One `join` rather than a chain of `+`: the chain builds a tree of some thirty string pieces that the
  // byte conversion must then copy flat again; `join` writes the flat string once.
  return [
    '{"v":1,"id":"',
    e.id,
    '","accountId":',
    str(e.accountId),
    ',"campaignId":',
    str(e.campaignId),
    ',"type":',
    str(e.type),
    opt('name', e.name),
    opt('url', e.url),
    opt('referrer', e.referrer),
    opt('params', e.params),
    opt('ts', e.ts),
    opt('orderId', e.orderId),
    opt('value', e.value),
    opt('currency', e.currency),
    ',"receivedAt":"',
    e.receivedAt,
    '","dt":"',
    e.dt,
    '","location":"',
    e.location,
    '","source":"',
    e.source,
    '"',
    opt('country', e.country),
    ',"consent":"',
    e.consent,
    pii === undefined ? '"}\n' : `","pii":{"alg":"${pii.alg}","kid":${str(pii.kid)},"ct":"${pii.ct}"}}\n`,
  ].join('');
}

/**
 * Records are cut from slabs of this size rather than from node's 8 KiB buffer pool, which a busy
 * instance exhausted every dozen records (each new pool an ArrayBuffer to allocate and later collect).
 */
const SLAB_BYTES = 256 * 1024;
/** Longer records get a buffer of their own, so one record never pins a slab on its own. */
const SLAB_MAX_RECORD = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/**
 * The stored line as UTF-8 bytes, as the sinks take it. A slab stays in memory while any record cut from
 * it does, which is until its batch is written: milliseconds, or a spool write.
 */
export function storedEventBytes(e: StoredEvent): Buffer {
  const line = serializeStoredEvent(e);
  const length = Buffer.byteLength(line, 'utf8');
  if (length > SLAB_MAX_RECORD) return Buffer.from(line, 'utf8');
  if (slabUsed + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const start = slabUsed;
  slab.write(line, start, length, 'utf8');
  // Aligned to 8 bytes, as node aligns its pool.
  slabUsed = (start + length + 7) & ~7;
  return slab.subarray(start, start + length);
}
