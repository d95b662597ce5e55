/** The settings every bucket of the program shares, so that no bucket can drift from them. */
import type * as gcp from '@pulumi/gcp';
import { RETENTION } from '../../../platform';
import type { RegionalKey } from './regional-key';

/** A private bucket in `region`, encrypted with `key`. */
export function privateBucketArgs(project: string, region: string, key: RegionalKey) {
  return {
    project,
    location: region.toUpperCase(),
    // Objects are readable only through IAM (no ACLs) and never publicly, whatever a later binding says.
    uniformBucketLevelAccess: true,
    publicAccessPrevention: 'enforced',
    encryption: { defaultKmsKeyName: key.key.id },
  } satisfies Partial<gcp.storage.BucketArgs>;
}

/** Versioning, with old versions deleted within the retention promise and no soft delete. */
export const VERSIONED_BUCKET_ARGS = {
  versioning: { enabled: true },
  lifecycleRules: [
    {
      action: { type: 'Delete' },
      condition: { daysSinceNoncurrentTime: RETENTION.noncurrentVersionDays, withState: 'ARCHIVED' },
    },
  ],
  // Soft delete would keep a purged account's objects for another 7 days beyond the purge, outside the
  // retention promise; versioning already covers accidental deletes.
  softDeletePolicy: { retentionDurationSeconds: 0 },
} satisfies Partial<gcp.storage.BucketArgs>;
