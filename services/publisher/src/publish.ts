/**
 * The core of `publish-config`: which campaigns a request names (refusing, before anything is written, an
 * unknown or ambiguous campaign and an account that is not active), and publishing their rendered documents
 * to a config store, writing only those that changed. Knows no cloud: the store and the CDN are ports.
 */
import { CAMPAIGN_CONFIG, type CampaignConfigDocument } from '../../../platform';
import {
  CampaignConfigError,
  InvalidStoredConfigError,
  configChanges,
  renderCampaignConfig,
  type ConfigFieldChange,
  type ConfigStore,
} from '../../shared/campaign-config';
import type { AccountRecord, CampaignRecord } from '../../shared/directory/directory';
import type { DirectoryMaintenance } from '../../shared/directory/item-directory';

/** What the publisher reads of the directory. */
export type CampaignSource = Pick<
  DirectoryMaintenance,
  'listAccounts' | 'listCampaigns' | 'findCampaigns'
> & {
  getAccount(accountId: string): Promise<AccountRecord | undefined>;
  getCampaign(accountId: string, campaignId: string): Promise<CampaignRecord | undefined>;
};

/** Which campaigns to publish. */
export type Selection =
  /** One campaign; `accountId` is required when the id exists in several accounts. */
  | { readonly kind: 'one'; readonly campaignId: string; readonly accountId?: string }
  /** Every campaign of every active account, or of the one account given. */
  | { readonly kind: 'all'; readonly accountId?: string };

/** A request refused before anything was written: unknown, ambiguous, inactive, or unrenderable. */
export class PublishRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PublishRefusedError';
  }
}

/** What publishing did to one campaign's document. */
export interface PublishOutcome {
  readonly accountId: string;
  readonly campaignId: string;
  /** Where the CDN serves it: `/config/<account>/<campaign>.json`. */
  readonly path: string;
  readonly result: 'created' | 'updated' | 'unchanged';
  /** With `updated`: the fields that changed (none when an invalid stored document was replaced). */
  readonly changes: readonly ConfigFieldChange[];
  /** With `updated`: what was stored was not a valid document, and was replaced. */
  readonly replacedInvalid?: boolean;
}

/** The active accounts a selection names, and their campaigns it names. */
export interface SelectedCampaigns {
  readonly accounts: readonly AccountRecord[];
  readonly campaigns: readonly CampaignRecord[];
}

/**
 * The campaigns a selection names, each of an active account, and those accounts.
 * @throws PublishRefusedError naming the campaign or account and what is wrong
 */
export async function selectCampaigns(
  source: CampaignSource,
  selection: Selection,
): Promise<SelectedCampaigns> {
  if (selection.kind === 'one') {
    const { campaignId } = selection;
    let accountId = selection.accountId;
    if (accountId === undefined) {
      const found = await source.findCampaigns(campaignId);
      if (found.length === 0)
        throw new PublishRefusedError(`unknown campaign ${campaignId}: no account has it`);
      if (found.length > 1)
        throw new PublishRefusedError(
          `campaign ${campaignId} exists in ${found.length} accounts (${found.map((c) => c.accountId).join(', ')}); ` +
            'campaign ids are unique per account only, so say which with --account <accountId>',
        );
      accountId = found[0]!.accountId;
    }
    const account = await activeAccount(source, accountId);
    const campaign = await source.getCampaign(accountId, campaignId);
    if (!campaign) throw new PublishRefusedError(`unknown campaign ${campaignId} in account ${accountId}`);
    return { accounts: [account], campaigns: [campaign] };
  }
  const accounts = selection.accountId
    ? [await activeAccount(source, selection.accountId)]
    : (await source.listAccounts()).filter((a) => a.status === 'active');
  const campaigns: CampaignRecord[] = [];
  for (const a of accounts) campaigns.push(...(await source.listCampaigns(a.accountId)));
  return { accounts, campaigns };
}

async function activeAccount(source: CampaignSource, accountId: string): Promise<AccountRecord> {
  const account = await source.getAccount(accountId);
  if (!account) throw new PublishRefusedError(`unknown account ${accountId}`);
  if (account.status !== 'active')
    throw new PublishRefusedError(
      `account ${accountId} is ${account.status}: only an active account's campaigns are published ` +
        '(the purge deletes a purged account’s configs)',
    );
  return account;
}

/**
 * Renders every campaign's document (all of them first, so an invalid one stops the run before any
 * write), then writes each one that differs from what the store holds.
 * @throws PublishRefusedError, having written nothing, when a campaign does not render to a valid document
 */
export async function publishCampaigns(
  campaigns: readonly CampaignRecord[],
  store: ConfigStore,
  options: {
    readonly dryRun?: boolean;
    /** Called as each document is done, so a caller that fails later still knows what was written. */
    readonly onOutcome?: (outcome: PublishOutcome) => void;
  } = {},
): Promise<PublishOutcome[]> {
  const docs: CampaignConfigDocument[] = [];
  for (const c of campaigns) {
    try {
      docs.push(renderCampaignConfig(c));
    } catch (err) {
      if (!(err instanceof CampaignConfigError)) throw err;
      throw new PublishRefusedError(`${err.message}\nnothing was written`, { cause: err });
    }
  }
  const outcomes: PublishOutcome[] = [];
  for (const doc of docs) {
    const path = `/${CAMPAIGN_CONFIG.path(doc.accountId, doc.campaignId)}`;
    let stored: CampaignConfigDocument | undefined;
    let invalid = false;
    try {
      stored = await store.get(doc.accountId, doc.campaignId);
    } catch (err) {
      // A hand-edited or truncated document is exactly what publishing must repair.
      if (!(err instanceof InvalidStoredConfigError)) throw err;
      invalid = true;
    }
    const changes = stored ? configChanges(stored, doc) : [];
    const result = invalid ? 'updated' : !stored ? 'created' : changes.length > 0 ? 'updated' : 'unchanged';
    if (result !== 'unchanged' && !options.dryRun) await store.put(doc);
    const outcome: PublishOutcome = {
      accountId: doc.accountId,
      campaignId: doc.campaignId,
      path,
      result,
      changes,
      ...(invalid ? { replacedInvalid: true } : {}),
    };
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  }
  return outcomes;
}
