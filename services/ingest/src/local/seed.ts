/**
 * Seeds the embedded-default store with a demo account, campaign and API key, and publishes the campaign's
 * config where local mode serves it (`<dataDir>/config/<account>/<campaign>.json`, as the CDN's config bucket
 * holds it).
 */
import { generateApiKey } from '../api-keys';
import { campaignConfigDocument } from '../campaign-config';
import { FileConfigStore } from '../../../shared/campaign-config/file-config-store';
import type { CampaignRecord, Directory } from '../../../shared/directory/directory';

/** The demo account's id. */
export const DEMO_ACCOUNT_ID = 'acc_demoaccount';
/** The demo campaign's id. */
export const DEMO_CAMPAIGN_ID = 'cmp_demo-campaign';

/** What seeding did. */
export interface SeedResult {
  readonly accountId: string;
  readonly campaignId: string;
  /** The new API key, present only when this call created it: it is shown once and never stored. */
  readonly apiKey?: string;
}

/**
 * Publishes a campaign's config document into the local "CDN" folder, under its account's prefix, as
 * `npm run publish-config` does without `--stage`.
 */
export async function publishCampaignConfig(dataDir: string, campaign: CampaignRecord): Promise<void> {
  await new FileConfigStore({ dataDir }).put(campaignConfigDocument(campaign));
}

/** Creates the demo account, campaign and key unless the account exists. Idempotent. */
export async function seedDemo(directory: Directory, dataDir: string, now = new Date()): Promise<SeedResult> {
  const campaign: CampaignRecord = {
    campaignId: DEMO_CAMPAIGN_ID,
    accountId: DEMO_ACCOUNT_ID,
    name: 'Demo campaign',
    countAnonymous: true,
    allowedOrigins: [],
  };
  let apiKey: string | undefined;
  if (!(await directory.getAccount(DEMO_ACCOUNT_ID))) {
    await directory.putAccount({
      accountId: DEMO_ACCOUNT_ID,
      status: 'active',
      contactEmail: 'demo@example.com',
      createdAt: now.toISOString(),
    });
    await directory.putCampaign(campaign);
    const key = generateApiKey();
    await directory.putApiKey({
      keyId: key.keyId,
      accountId: DEMO_ACCOUNT_ID,
      secretHash: key.secretHash,
      status: 'active',
      createdAt: now.toISOString(),
    });
    apiKey = key.key;
  }
  await publishCampaignConfig(dataDir, campaign);
  return { accountId: DEMO_ACCOUNT_ID, campaignId: DEMO_CAMPAIGN_ID, apiKey };
}
