/**
 * The port of the published campaign configs: where `publish-config` writes each campaign's document
 * (`CAMPAIGN_CONFIG.path`: `config/<accountId>/<campaignId>.json`) and from where the purge removes a
 * purged account's. Adapters: the CDN's versioned config bucket (`s3-config-store.ts`) and the local config
 * folder that `npm run local` serves (`file-config-store.ts`).
 */
import { ID_PATTERNS, type CampaignConfigDocument } from '../../../platform';
import { validateCampaignConfig } from './render';

/** What {@link ConfigStore.deleteAccount} removed. */
export interface DeletedConfigs {
  /** Documents (keys) of the account that were removed. */
  readonly deleted: number;
  /** Stored versions removed, delete markers included; equals `deleted` where there is no versioning. */
  readonly versions: number;
}

/** The published campaign config documents. */
export interface ConfigStore {
  /** Human-readable name, e.g. `s3://trackstack-prod-config-123456789012`. */
  readonly description: string;
  /**
   * The published document of a campaign; `undefined` when there is none.
   * @throws InvalidStoredConfigError when what is stored there is not a valid document
   */
  get(accountId: string, campaignId: string): Promise<CampaignConfigDocument | undefined>;
  /**
   * Writes a document at its account's and campaign's path, replacing any earlier one.
   * @throws CampaignConfigError, writing nothing, when the document does not match the schema
   */
  put(doc: CampaignConfigDocument): Promise<void>;
  /**
   * Removes every published document of the account (its whole `config/<accountId>/` prefix, every version)
   * and nothing of any other account, whose campaigns may carry the same ids. Nothing to remove is fine.
   * @throws RangeError, touching nothing, for a malformed account id
   */
  deleteAccount(accountId: string): Promise<DeletedConfigs>;
}

/** A stored object at a config path that is not a valid config document (hand-edited, or truncated). */
export class InvalidStoredConfigError extends Error {
  constructor(
    /** Where it is, e.g. `config/acc_…/cmp_….json`. */
    public readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`${path} holds something that is not a valid campaign config document`, options);
    this.name = 'InvalidStoredConfigError';
  }
}

/**
 * Refuses an account id that is not one before it becomes part of a path or prefix: `acc_x` with a slash
 * or a dot could address another account's documents.
 * @throws RangeError naming the id
 */
export function assertAccountId(accountId: string, action: string): void {
  if (!ID_PATTERNS.account.test(accountId))
    throw new RangeError(`not an account id, ${action}: ${JSON.stringify(accountId)}`);
}

/** Refuses a campaign id that is not one before it becomes part of a path. */
export function assertCampaignId(campaignId: string, action: string): void {
  if (!ID_PATTERNS.campaign.test(campaignId))
    throw new RangeError(`not a campaign id, ${action}: ${JSON.stringify(campaignId)}`);
}

/**
 * A stored document read back: parsed and validated, as every store must before handing it out.
 * @param path where it was read from, named in the error
 * @throws InvalidStoredConfigError when it is not JSON or not a valid document
 */
export function parseStoredConfig(text: string, path: string): CampaignConfigDocument {
  try {
    return validateCampaignConfig(JSON.parse(text), path);
  } catch (err) {
    throw new InvalidStoredConfigError(path, { cause: err });
  }
}
