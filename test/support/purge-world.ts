/**
 * A seeded world for the purge tests: accounts in every standing (active, expired 44 days ago, exactly 45
 * days ago, 89 days ago, reactivated, already purged), each with campaigns, an API key, a wrapped data key
 * per location (`DATAKEY#<id>`), a conversion claim (`DEDUP#<id>`), and encrypted events in every
 * location's store, on embedded defaults or on moto.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CAMPAIGN_CONFIG, DIRECTORY } from '../../platform';
import { generateApiKey } from '../../services/ingest/src/api-keys';
import { campaignConfigDocument } from '../../services/ingest/src/campaign-config';
import { DataKeyService } from '../../services/ingest/src/crypto/data-keys';
import type { KeyProvider } from '../../services/ingest/src/crypto/key-provider';
import type { AccountRecord, CampaignRecord, Directory } from '../../services/shared/directory/directory';
import {
  itemKeys,
  toItem,
  type DirectoryItem,
  type ItemDirectory,
} from '../../services/shared/directory/item-directory';
import { DAY_MS } from '../../services/purge/src/core/eligibility';

/** The instant every purge test judges eligibility at. */
export const NOW = new Date('2025-06-01T12:00:00.000Z');

/** ISO instant `days` days before `now` (exact multiples of 24 h, in UTC). */
export function daysAgo(days: number, now: Date = NOW): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString();
}

/** One account of the world. */
export interface WorldAccount {
  readonly id: string;
  readonly status: 'active' | 'expired' | 'purged';
  readonly expiredAt?: string;
  readonly purgedAt?: string;
  /** Whether a run at {@link NOW} must purge it. */
  readonly eligible: boolean;
}

/** The accounts of the world, relative to `now`. */
export function worldAccounts(now: Date = NOW): Record<string, WorldAccount> {
  return {
    active: { id: 'acc_active0001', status: 'active', eligible: false },
    expired44: { id: 'acc_expired44d', status: 'expired', expiredAt: daysAgo(44, now), eligible: false },
    // One millisecond short of day 45: the boundary is exact.
    almost45: {
      id: 'acc_almost45d',
      status: 'expired',
      expiredAt: new Date(now.getTime() - 45 * DAY_MS + 1).toISOString(),
      eligible: false,
    },
    expired45: { id: 'acc_expired45d', status: 'expired', expiredAt: daysAgo(45, now), eligible: true },
    expired89: { id: 'acc_expired89d', status: 'expired', expiredAt: daysAgo(89, now), eligible: true },
    // Expired 120 days ago, then reactivated: it keeps an old expiry but is active.
    reactivated: { id: 'acc_reactivated', status: 'active', expiredAt: daysAgo(120, now), eligible: false },
    purged: {
      id: 'acc_purged0001',
      status: 'purged',
      expiredAt: daysAgo(200, now),
      purgedAt: daysAgo(150, now),
      eligible: false,
    },
  };
}

/** The personal data a world account carries; receipts must never contain it. */
export const CONTACT_DOMAIN = 'customer.example';
/** Personal fields sealed into each event. */
export const PERSONAL_IP = '203.0.113.77';

/** What was seeded for one account in the directory. */
export interface SeededDirectory {
  readonly campaigns: number;
  readonly apiKeys: number;
  readonly dataKeys: number;
  readonly conversionClaims: number;
}

/** The sort key of the conversion claim seeded for every account with data. */
export const SEEDED_CLAIM = 'api#seeded-claim';

/**
 * Seeds accounts, two campaigns and one API key each, a wrapped data key per location (through the real
 * `DataKeyService`, so the keys are genuine) and a live conversion claim. Purged accounts get only their
 * record.
 * @returns a data key service per location, for encrypting events
 */
export async function seedDirectory(
  directory: Directory,
  accounts: readonly WorldAccount[],
  providers: Readonly<Record<string, KeyProvider>>,
): Promise<Record<string, DataKeyService>> {
  const services: Record<string, DataKeyService> = {};
  for (const [location, provider] of Object.entries(providers)) {
    services[location] = new DataKeyService({ provider, directory, location });
  }
  for (const a of accounts) {
    await directory.putAccount({
      accountId: a.id,
      status: a.status,
      ...(a.expiredAt ? { expiredAt: a.expiredAt } : {}),
      ...(a.purgedAt ? { purgedAt: a.purgedAt } : {}),
      ...(a.status !== 'purged' ? { contactEmail: `billing+${a.id}@${CONTACT_DOMAIN}` } : {}),
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    if (a.status === 'purged') continue;
    for (const n of [1, 2]) {
      await directory.putCampaign({
        campaignId: `cmp_${a.id.slice(4)}-${n}`,
        accountId: a.id,
        name: `Campaign ${n}`,
        countAnonymous: true,
        allowedOrigins: [],
      });
    }
    const key = generateApiKey();
    await directory.putApiKey({
      keyId: key.keyId,
      accountId: a.id,
      secretHash: key.secretHash,
      status: 'active',
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    for (const s of Object.values(services)) await s.getKey(a.id);
    // Live by the real clock: the local directory drops lapsed claims whenever it writes.
    await directory.claimConversion(
      { accountId: a.id, key: SEEDED_CLAIM, expiresAtMs: Date.now() + 7 * DAY_MS },
      Date.now(),
    );
  }
  return services;
}

/** Expected directory counts of a seeded (not purged) account. */
export function seededDirectoryCounts(locations: number): SeededDirectory {
  return { campaigns: 2, apiKeys: 1, dataKeys: locations, conversionClaims: 1 };
}

/**
 * Stores an account record as an operator's direct table edit or an older writer would, without the
 * directory's validation (which refuses an impossible or future `expiredAt`): what the purge must still
 * judge safely.
 */
export async function putRawAccount(directory: ItemDirectory, record: AccountRecord): Promise<void> {
  const stored = await directory.putItemIf(toItem(itemKeys.account(record.accountId), record), {});
  if (!stored) throw new Error(`could not store ${record.accountId}`);
}

/** Publishes a campaign's config where local mode serves it, at its account's path (`CAMPAIGN_CONFIG`). */
export async function publishLocalConfig(dataDir: string, campaign: CampaignRecord): Promise<string> {
  const file = join(dataDir, CAMPAIGN_CONFIG.path(campaign.accountId, campaign.campaignId));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(campaignConfigDocument(campaign), null, 2));
  return file;
}

/** One encrypted event line for an account, as the ingest pipeline stores it. */
export async function eventLine(keys: DataKeyService, accountId: string, n: number): Promise<string> {
  const pii = await keys.encryptFields(accountId, { ip: PERSONAL_IP, userAgent: 'Mozilla/5.0 test' });
  return `${JSON.stringify({ id: `evt-${n}`, accountId, dt: '2025-03-01', type: 'pageview', pii })}\n`;
}

/**
 * Every item an account owns (its record and campaigns, data keys, conversion claims, API keys), for
 * before/after comparisons.
 */
export async function directorySnapshot(
  directory: ItemDirectory,
  accountIds: readonly string[],
): Promise<Record<string, DirectoryItem[]>> {
  const out: Record<string, DirectoryItem[]> = {};
  for (const id of accountIds) {
    const own = await directory.listItems(DIRECTORY.accountPk(id));
    const dataKeys = await directory.listItems(DIRECTORY.dataKeyPk(id));
    const claims = await directory.listItems(DIRECTORY.dedupPk(id));
    const keys = await directory.listApiKeys(id);
    out[id] = [
      ...own,
      ...dataKeys,
      ...claims,
      ...keys.map((k) => ({ ...k, pk: `APIKEY#${k.keyId}`, sk: 'META' }) as DirectoryItem),
    ];
  }
  return out;
}

/** Every item left of an account anywhere in the directory but its record: `[]` once it is purged. */
export async function leftoverItems(directory: ItemDirectory, accountId: string): Promise<DirectoryItem[]> {
  const [snapshot] = Object.values(await directorySnapshot(directory, [accountId]));
  return snapshot!.filter((i) => i.sk !== DIRECTORY.accountSk || !i.pk.startsWith('ACCOUNT#'));
}

// ---- embedded defaults ---------------------------------------------------------------------------

/**
 * Writes `files` segment files per account into the file sink layout under `<dataDir>/events`.
 * @returns the number of files and bytes per account
 */
export async function seedLocalEvents(
  dataDir: string,
  keys: DataKeyService,
  accountIds: readonly string[],
  files = 3,
): Promise<Record<string, { files: number; bytes: number }>> {
  const out: Record<string, { files: number; bytes: number }> = {};
  for (const id of accountIds) {
    let bytes = 0;
    for (let i = 0; i < files; i++) {
      const dir = join(dataDir, 'events', `account=${id}`, `dt=2025-03-0${1 + (i % 3)}`);
      await mkdir(dir, { recursive: true });
      const body = (await eventLine(keys, id, i)) + (await eventLine(keys, id, i + 100));
      await writeFile(join(dir, `seg-${String(i).padStart(4, '0')}.ndjson`), body);
      bytes += Buffer.byteLength(body);
    }
    out[id] = { files, bytes };
  }
  return out;
}

/** Every file under a folder with its SHA-256, for "nothing changed" checks. */
export async function treeSnapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else out[relative(root, path).split(sep).join('/')] = sha256(await readFile(path));
    }
  };
  await walk(root);
  return out;
}

// ---- AWS (moto) ----------------------------------------------------------------------------------

/** Creates a versioned bucket in the client's region. */
export async function createVersionedBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(region === 'us-east-1'
        ? {}
        : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
    }),
  );
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
}

/** What was seeded for one account in one bucket. */
export interface SeededObjects {
  readonly versions: number;
  readonly deleteMarkers: number;
  readonly bytes: number;
}

/**
 * Seeds one account's objects in a bucket: key 0 with two versions, key 1 with two versions under a delete
 * marker, key 2 with one version: 5 versions and 1 delete marker.
 */
export async function seedAccountObjects(
  s3: S3Client,
  bucket: string,
  accountId: string,
  keys: DataKeyService,
): Promise<SeededObjects> {
  let bytes = 0;
  const put = async (key: string, n: number) => {
    const body = await eventLine(keys, accountId, n);
    bytes += Buffer.byteLength(body);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  };
  const key = (i: number) => `account=${accountId}/dt=2025-03-0${i + 1}/part-${i}.ndjson`;
  await put(key(0), 1);
  await put(key(0), 2);
  await put(key(1), 3);
  await put(key(1), 4);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(1) }));
  await put(key(2), 5);
  return { versions: 5, deleteMarkers: 1, bytes };
}

/**
 * Every version and delete marker under `prefix` (all of the bucket by default), each with the SHA-256 of
 * its bytes (`marker` for delete markers): equal snapshots mean byte-for-byte equal data.
 */
export async function bucketSnapshot(
  s3: S3Client,
  bucket: string,
  prefix = '',
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    for (const m of page.DeleteMarkers ?? []) out[`${m.Key}@${m.VersionId}`] = 'marker';
    await Promise.all(
      (page.Versions ?? []).map(async (v) => {
        const got = await s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId }),
        );
        out[`${v.Key}@${v.VersionId}`] = sha256(Buffer.from(await got.Body!.transformToByteArray()));
      }),
    );
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

/** Only the entries of a snapshot that belong to the given accounts. */
export function ofAccounts(
  snapshot: Record<string, string>,
  accountIds: readonly string[],
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(snapshot).filter(([k]) => accountIds.some((id) => k.startsWith(`account=${id}/`))),
  );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
