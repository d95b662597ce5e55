/** The order incidents are listed in, shared by every store. */
import type { Incident } from './model';

/** Newest detection first; ties by id, so a listing is stable. */
export function byNewestDetection(a: Incident, b: Incident): number {
  return b.detectedAt.localeCompare(a.detectedAt) || a.id.localeCompare(b.id);
}
