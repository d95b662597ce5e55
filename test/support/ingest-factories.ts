/**
 * Factories for the ingest tests: accounts, campaigns and API keys written straight into a directory, and
 * the requests a browser or an affiliate network's server would send.
 */
import { generateApiKey } from '../../services/ingest/src/api-keys';
import type {
  AccountRecord,
  ApiKeyRecord,
  CampaignRecord,
  Directory,
} from '../../services/shared/directory/directory';
import { publishCampaignConfig } from '../../services/ingest/src/local/seed';
import type { StoredEvent } from '../../services/ingest/src/pipeline/pipeline';

/** An active account, with optional overrides. */
export function accountRecord(accountId: string, overrides: Partial<AccountRecord> = {}): AccountRecord {
  return {
    accountId,
    status: 'active',
    contactEmail: `${accountId}@example.com`,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/** A campaign taking hits from anywhere, counted anonymously without consent, with optional overrides. */
export function campaignRecord(
  accountId: string,
  campaignId: string,
  overrides: Partial<CampaignRecord> = {},
): CampaignRecord {
  return { accountId, campaignId, name: campaignId, countAnonymous: true, allowedOrigins: [], ...overrides };
}

/** What {@link addAccount} created. */
export interface SeededAccount {
  readonly accountId: string;
  readonly campaignId: string;
  /** The account's API key, whole (only its hash is stored). */
  readonly apiKey: string;
  readonly keyId: string;
}

/**
 * Writes an account with one campaign and one API key into `directory`, and publishes the campaign's
 * config under `dataDir` when given.
 */
export async function addAccount(
  directory: Directory,
  accountId: string,
  options: {
    readonly campaignId?: string;
    readonly account?: Partial<AccountRecord>;
    readonly campaign?: Partial<CampaignRecord>;
    readonly key?: Partial<ApiKeyRecord>;
    readonly dataDir?: string;
  } = {},
): Promise<SeededAccount> {
  const campaignId = options.campaignId ?? 'cmp_spring';
  await directory.putAccount(accountRecord(accountId, options.account));
  const campaign = campaignRecord(accountId, campaignId, options.campaign);
  await directory.putCampaign(campaign);
  if (options.dataDir) await publishCampaignConfig(options.dataDir, campaign);
  const key = generateApiKey();
  await directory.putApiKey({
    keyId: key.keyId,
    accountId,
    secretHash: key.secretHash,
    status: 'active',
    createdAt: '2026-01-01T00:00:00.000Z',
    ...options.key,
  });
  return { accountId, campaignId, apiKey: key.key, keyId: key.keyId };
}

/** The stored events, parsed. */
export function parseEvents(records: readonly { data: Buffer }[]): StoredEvent[] {
  return records.map((r) => JSON.parse(r.data.toString('utf8')) as StoredEvent);
}
