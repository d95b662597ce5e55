/**
 * The campaign config document that the snippet fetches from the CDN (`/config/<campaign>.json`).
 * The same function renders it for the local store and, later, for the cloud config bucket.
 */
import type { CampaignRecord } from '../../shared/directory/directory';

/** What the snippet reads. Holds nothing secret: it is public on the CDN. */
export interface CampaignConfigDocument {
  readonly v: 1;
  readonly campaignId: string;
  readonly accountId: string;
  /** Send a page view as soon as the config has loaded. */
  readonly autoPageview: boolean;
  /** Whether hits without consent are still counted (anonymously). */
  readonly countAnonymous: boolean;
}

/** Renders a campaign's public config. */
export function campaignConfigDocument(campaign: CampaignRecord): CampaignConfigDocument {
  return {
    v: 1,
    campaignId: campaign.campaignId,
    accountId: campaign.accountId,
    autoPageview: true,
    countAnonymous: campaign.countAnonymous,
  };
}
