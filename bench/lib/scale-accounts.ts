/** The accounts of the scale section, shared by the bench and its ingest child. */

/** The campaign every scale account has. */
export const SCALE_CAMPAIGN_ID = 'cmp_scale';

/** The id of the `i`-th account of the scale section. */
export function scaleAccountId(i: number): string {
  return `acc_scale${String(i).padStart(8, '0')}`;
}
