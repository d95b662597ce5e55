/** Instants as the platform's records carry them: ISO-8601 with a time zone, parsed strictly. */

/** ISO-8601 date, or date-time with `Z` or an offset (a date-time without one would be local time). */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2})))?$/;

/**
 * Parses an ISO-8601 instant strictly: a date alone is midnight UTC; a date-time must carry `Z` or an
 * offset; every field must exist on the calendar (`2026-09-31` and `T24:00` are refused, where
 * `Date.parse` would roll them over into the next day).
 * @returns epoch milliseconds, or `undefined` when the text is not such an instant
 */
export function parseIsoInstant(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}
