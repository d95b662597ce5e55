/**
 * The one-time setup of a stage for the smoke check (`npm run smoke -- --stage <stage> --setup`): one
 * active smoke account per location, with that location as its home and one campaign, written to the
 * stage's directory table. Run it with credentials that may write the directory (an operator's, never the
 * pipeline's), then publish the accounts' home locations to the edge store with `publish-config`, so that
 * the router sends each smoke hit home.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { names, REGIONS, type Location, type Stage } from '../../platform';
import { DynamoDirectory } from '../../services/shared/directory/dynamo-directory';
import { SMOKE_CAMPAIGN, smokeAccountId, type AwsClientSettings } from './smoke';

/** What {@link setupSmokeAccounts} is asked to do. */
export interface SmokeSetupOptions {
  readonly stage: Stage;
  readonly locations: readonly Location[];
  /** The location whose region holds the directory table's home (writes replicate to the others). */
  readonly directoryLocation: Location;
  /** For tests: settings for the DynamoDB client (moto's endpoint). */
  readonly awsClientConfig?: AwsClientSettings;
}

/**
 * Writes (or rewrites, unchanged) the smoke account and campaign of each location; returns the account ids.
 * Existing records are left as they are apart from these fields, so running it twice is harmless.
 */
export async function setupSmokeAccounts(options: SmokeSetupOptions): Promise<string[]> {
  const { forcePathStyle: _s3Only, ...settings } = options.awsClientConfig ?? {};
  const client = new DynamoDBClient({ ...settings, region: REGIONS[options.directoryLocation].aws });
  try {
    const directory = new DynamoDirectory({ client, tableName: names.directoryTable(options.stage) });
    const ids: string[] = [];
    for (const location of options.locations) {
      const accountId = smokeAccountId(location);
      const existing = await directory.getAccount(accountId);
      await directory.putAccount({
        accountId,
        status: 'active',
        homeLocation: location,
        createdAt: existing?.createdAt ?? new Date().toISOString(),
      });
      await directory.putCampaign({
        accountId,
        campaignId: SMOKE_CAMPAIGN,
        name: `Release smoke check (${location})`,
        // The smoke hit carries no consent signal: counted without personal fields, nothing to protect.
        countAnonymous: true,
        allowedOrigins: [],
      });
      ids.push(accountId);
    }
    return ids;
  } finally {
    client.destroy();
  }
}
