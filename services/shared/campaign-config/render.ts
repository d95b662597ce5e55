/**
 * Renders a campaign's public config document from its directory record, and describes how two versions
 * of a document differ. Every writer (`publish-config`, the local seed) renders through here, so nothing
 * reaches the CDN that the snippet's schema would refuse.
 */
import { campaignConfigDocumentSchema, type CampaignConfigDocument } from '../../../platform';
import type { CampaignRecord } from '../directory/directory';

/** A campaign whose record cannot be rendered into a valid document; nothing was written. */
export class CampaignConfigError extends Error {
  constructor(
    message: string,
    /** Each problem, naming the field. */
    public readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CampaignConfigError';
  }
}

/**
 * Checks a document against the schema the snippet reads.
 * @throws CampaignConfigError naming every field that is wrong
 */
export function validateCampaignConfig(doc: unknown, what = 'campaign config'): CampaignConfigDocument {
  const parsed = campaignConfigDocumentSchema.safeParse(doc);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`);
  throw new CampaignConfigError(
    `${what} is not a valid config document:\n  ${problems.join('\n  ')}`,
    problems,
    {
      cause: parsed.error,
    },
  );
}

/**
 * The config document of a campaign, validated.
 * @throws CampaignConfigError when the record yields an invalid document (e.g. a malformed id)
 */
export function renderCampaignConfig(campaign: CampaignRecord): CampaignConfigDocument {
  return validateCampaignConfig(
    {
      v: 1,
      accountId: campaign.accountId,
      campaignId: campaign.campaignId,
      // No record field turns it off yet: every campaign's snippet sends its page view on load.
      autoPageview: true,
      countAnonymous: campaign.countAnonymous,
    },
    `campaign ${campaign.accountId}/${campaign.campaignId}`,
  );
}

/** One field that differs between two versions of a document. */
export interface ConfigFieldChange {
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** The fields whose values differ between `before` and `after`, in the order of `after`'s fields. */
export function configChanges(
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): ConfigFieldChange[] {
  const fields = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  return fields
    .filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]))
    .map((field) => ({ field, before: before[field], after: after[field] }));
}

/** A change as a person reads it: `countAnonymous: true → false` (`(absent)` for a missing field). */
export function formatFieldChange(change: ConfigFieldChange): string {
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return `${change.field}: ${show(change.before)} → ${show(change.after)}`;
}
