/**
 * The contract between the CDN and the ingest origin: the CDN adds the shared origin secret in this
 * header, and the origin answers 403 without it.
 */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';
