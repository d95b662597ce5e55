/**
 * The campaign config document: what `publish-config` writes to the config bucket (the local config folder
 * on embedded defaults) and what the snippet reads from the CDN at `/config/<account>/<campaign>.json`.
 * Public on the CDN, so it holds nothing secret. The snippet reads exactly these fields.
 */
import { z } from 'zod';
import { ID_PATTERNS } from '../definition';

/** The document's schema: every field the snippet reads, and no other. */
export const campaignConfigDocumentSchema = z
  .object({
    /** Version of the document's format. */
    v: z.literal(1),
    /** The account the campaign belongs to; the snippet checks it against its `data-account`. */
    accountId: z.string().regex(ID_PATTERNS.account),
    /** The campaign; the snippet checks it against its `data-campaign`. */
    campaignId: z.string().regex(ID_PATTERNS.campaign),
    /** Send a page view as soon as the config has loaded. */
    autoPageview: z.boolean(),
    /** Whether hits without consent are still counted (anonymously). */
    countAnonymous: z.boolean(),
  })
  .strict();

/** A campaign config document. */
export type CampaignConfigDocument = z.infer<typeof campaignConfigDocumentSchema>;
