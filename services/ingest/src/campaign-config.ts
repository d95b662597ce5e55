/**
 * The campaign config document that the snippet fetches from the CDN (`/config/<account>/<campaign>.json`).
 * It is rendered and validated in `services/shared/campaign-config`, once for every writer (the local seed,
 * `npm run publish-config`); this module keeps the ingest service's own name for it.
 */
import type { CampaignConfigDocument } from '../../../platform';
import type { CampaignRecord } from '../../shared/directory/directory';
import { renderCampaignConfig } from '../../shared/campaign-config/render';

export type { CampaignConfigDocument } from '../../../platform';

/**
 * Renders a campaign's public config, validated against the document's schema.
 * @throws CampaignConfigError when the record cannot make a valid document
 */
export function campaignConfigDocument(campaign: CampaignRecord): CampaignConfigDocument {
  return renderCampaignConfig(campaign);
}
