/**
 * The GCP program for the dev stack, run in-process under `pulumi.runtime.setMocks` (no Pulumi CLI, no
 * GCP): what it registers, how the pieces point at each other, and who may use each key.
 */
import { LOCATIONS, REGIONS, RETENTION } from '../../../../platform';
import { runProgram, type Registered } from './support';

const T = {
  platform: 'trackstack:gcp:RegionalPlatform',
  key: 'trackstack:gcp:RegionalKey',
  store: 'trackstack:gcp:EventStore',
  topic: 'trackstack:gcp:EventTopic',
  agents: 'trackstack:gcp:ServiceAgents',
  fn: 'trackstack:gcp:ServiceFunction',
  keyRing: 'gcp:kms/keyRing:KeyRing',
  cryptoKey: 'gcp:kms/cryptoKey:CryptoKey',
  keyMember: 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
  bucket: 'gcp:storage/bucket:Bucket',
  pubsubTopic: 'gcp:pubsub/topic:Topic',
  serviceIdentity: 'gcp:projects/serviceIdentity:ServiceIdentity',
};

const PROJECT = 'trackstack-dev-123456';
let resources: Registered[];
let outputs: Record<string, unknown>;

const ofType = (type: string) => resources.filter((r) => r.type === type);
/** The GCP region of a Cloud KMS key id (`projects/p/locations/<region>/keyRings/…`). */
const keyRegion = (keyId: unknown) => /\/locations\/([^/]+)\/keyRings\//.exec(String(keyId))?.[1];
/** The key id of each region, from the registered keys. */
const keyIdOfRegion = () => {
  const byRegion = new Map<string, string>();
  for (const ring of ofType(T.keyRing)) {
    const id = `projects/${PROJECT}/locations/${String(ring.inputs.location)}/keyRings/${String(ring.inputs.name)}/cryptoKeys/data`;
    byRegion.set(String(ring.inputs.location), id);
  }
  return byRegion;
};

beforeAll(async () => {
  ({ resources, outputs } = await runProgram('dev'));
  const byType = new Map<string, string[]>();
  for (const r of resources) byType.set(r.type, [...(byType.get(r.type) ?? []), r.name]);
  // The list for the closing note of the slice.
  console.log(
    [...byType]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, ns]) => `${type} (${ns.length}): ${ns.join(', ')}`)
      .join('\n'),
  );
});

describe('GCP program, dev stack (mocked)', () => {
  test('one regional platform per location, each with one key, one store and one topic component', () => {
    expect(
      ofType(T.platform)
        .map((r) => r.name)
        .sort(),
    ).toEqual(LOCATIONS.map((l) => `dev-${l}`).sort());
    for (const type of [T.store, T.topic]) {
      expect(ofType(type)).toHaveLength(3);
      for (const r of ofType(type)) expect(r.parent?.type).toBe(T.platform);
    }
    // Keys are created before the platforms: the stage-wide buckets need the primary one.
    expect(ofType(T.key)).toHaveLength(3);
    expect(ofType(T.fn).filter((f) => f.parent?.type === T.platform)).toHaveLength(6);
    // One source archive per bundle, shared by the functions that run it.
    expect(
      ofType('gcp:storage/bucketObject:BucketObject')
        .map((o) => o.name)
        .sort(),
    ).toEqual(['dev-storage-ingest-gcp', 'dev-storage-purge-gcp', 'dev-storage-writer-gcp']);
    expect(ofType(T.keyRing)).toHaveLength(3);
    expect(ofType(T.cryptoKey)).toHaveLength(3);
    // Three event buckets, and the stage's config, receipts and source buckets.
    expect(ofType(T.bucket)).toHaveLength(6);
    expect(ofType(T.pubsubTopic)).toHaveLength(6);
    expect(new Set(ofType(T.keyRing).map((r) => r.inputs.location))).toEqual(
      new Set(LOCATIONS.map((l) => REGIONS[l].gcp)),
    );
  });

  test('every resource has a parent except the root components, and the regional ones sit in their region', () => {
    const roots = resources.filter((r) => r.parent === undefined).map((r) => r.type);
    expect(roots.sort()).toEqual(
      [
        ...LOCATIONS.flatMap(() => [T.platform, T.key]),
        T.agents,
        'trackstack:gcp:StageStorage',
        'trackstack:gcp:Directory',
        'trackstack:gcp:Edge',
        'trackstack:gcp:PurgeJob',
        'trackstack:gcp:Monitoring',
      ].sort(),
    );
    for (const r of resources.filter((x) => !x.type.startsWith('trackstack:')))
      expect([r.type, r.parent?.type.startsWith('trackstack:gcp:')]).toEqual([r.type, true]);
    // A component's children sit in its own subtree (named after it), not a neighbour's; the grants that a
    // key or the directory makes (`grantEncryptDecrypt`, `grantReadWrite`) are its children but named by
    // the grantee.
    const grantor = new Set([T.key, 'trackstack:gcp:Directory', T.fn]);
    for (const r of resources.filter((x) => x.parent !== undefined && !grantor.has(x.parent.type)))
      expect([r.name, r.name.startsWith(r.parent?.name ?? '?')]).toEqual([r.name, true]);
  });

  test('keys: symmetric, software, rotated every 90 days at most, protected', () => {
    for (const key of ofType(T.cryptoKey)) {
      expect(key.inputs).toMatchObject({
        purpose: 'ENCRYPT_DECRYPT',
        versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
      });
      const seconds = Number(/^(\d+)s$/.exec(String(key.inputs.rotationPeriod))?.[1]);
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThanOrEqual(90 * 86_400);
    }
    for (const r of [...ofType(T.cryptoKey), ...ofType(T.keyRing)])
      expect((r.resource as unknown as { __protect?: boolean }).__protect).toBe(true);
  });

  test('each regional key: the encrypting agents, and of the workloads only its ingest function', () => {
    const keyGrants = ofType(T.keyMember).map(
      (r) => `${keyRegion(r.inputs.cryptoKeyId)} ${String(r.inputs.role)} ${String(r.inputs.member)}`,
    );
    const agent = (a: string) => `serviceAccount:service-123456789@${a}.iam.gserviceaccount.com`;
    const role = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';
    const expected = [
      ...LOCATIONS.flatMap((l) => [
        ...[
          'gs-project-accounts',
          'gcp-sa-pubsub',
          'gcp-sa-artifactregistry',
          'gcp-sa-cloudfunctions',
          'gcp-sa-run',
        ].map((a) => `${REGIONS[l].gcp} ${role} ${agent(a)}`),
        `${REGIONS[l].gcp} ${role} serviceAccount:ts-dev-${l}-ingest@${PROJECT}.iam.gserviceaccount.com`,
      ]),
      // Firestore's agent only on the key of the directory's region.
      `us-central1 ${role} ${agent('gcp-sa-firestore')}`,
    ];
    expect(keyGrants.sort()).toEqual(expected.sort());
  });

  test('every bucket: CMEK of its own region, uniform access, public access prevention, versioning, noncurrent expiry', () => {
    const keys = keyIdOfRegion();
    for (const b of ofType(T.bucket)) {
      const region = String(b.inputs.location).toLowerCase();
      expect(b.inputs.encryption).toEqual({ defaultKmsKeyName: keys.get(region) });
      expect(b.inputs).toMatchObject({ uniformBucketLevelAccess: true, publicAccessPrevention: 'enforced' });
      expect(String(b.inputs.name).length).toBeLessThanOrEqual(63);
      if (String(b.inputs.name).includes('-receipts-')) {
        // Write-once receipts: a locked retention policy instead of versioning (GCS allows one or the other).
        expect(b.inputs.retentionPolicy).toEqual({
          retentionPeriod: String(RETENTION.receiptRetentionDays * 86_400),
          isLocked: true,
        });
        expect(b.inputs.versioning).toBeUndefined();
        continue;
      }
      expect(b.inputs).toMatchObject({
        versioning: { enabled: true },
        softDeletePolicy: { retentionDurationSeconds: 0 },
      });
      expect(b.inputs.lifecycleRules).toEqual([
        {
          action: { type: 'Delete' },
          condition: { daysSinceNoncurrentTime: RETENTION.noncurrentVersionDays, withState: 'ARCHIVED' },
        },
      ]);
      expect(String(b.inputs.name)).toMatch(
        new RegExp(`^trackstack-dev-([a-z]+-events|config|sources)-${PROJECT}$`),
      );
    }
  });

  test('every topic: CMEK of its own region and messages stored only there', () => {
    const keys = keyIdOfRegion();
    for (const t of ofType(T.pubsubTopic)) {
      const policy = t.inputs.messageStoragePolicy as { allowedPersistenceRegions: string[] };
      expect(policy.allowedPersistenceRegions).toHaveLength(1);
      const region = policy.allowedPersistenceRegions[0] ?? '';
      expect(t.inputs.kmsKeyName).toBe(keys.get(region));
      expect(String(t.inputs.name)).toContain(
        LOCATIONS.find((l) => REGIONS[l].gcp === region) ?? 'no location for this region',
      );
    }
    expect(ofType(T.pubsubTopic).filter((t) => String(t.inputs.name).endsWith('-dead-letter'))).toHaveLength(
      3,
    );
  });

  test('buckets and topics are created only after the agents may use their region’s key', () => {
    const byResource = new Map(resources.map((r) => [r.resource, r]));
    for (const r of [...ofType(T.bucket), ...ofType(T.pubsubTopic)]) {
      const region = String(
        r.type === T.bucket
          ? r.inputs.location
          : (r.inputs.messageStoragePolicy as { allowedPersistenceRegions: string[] })
              .allowedPersistenceRegions[0],
      ).toLowerCase();
      const grants = r.dependsOn.map((d) => byResource.get(d));
      expect(new Set(grants.map((g) => `${g?.type} ${keyRegion(g?.inputs.cryptoKeyId)}`))).toEqual(
        new Set([`${T.keyMember} ${region}`]),
      );
      expect(grants.map((g) => String(g?.inputs.member))).toEqual(
        expect.arrayContaining([
          expect.stringContaining('gs-project-accounts'),
          expect.stringContaining('gcp-sa-pubsub'),
        ]),
      );
    }
  });

  test('the stack outputs name each location’s region, key, buckets and topics', () => {
    expect(outputs.stage).toBe('dev');
    expect(outputs.regions).toEqual({
      americas: 'us-central1',
      europe: 'europe-west1',
      apac: 'asia-southeast1',
    });
    const locations = outputs.locations as Record<string, Record<string, string>>;
    expect(locations.europe).toEqual({
      region: 'europe-west1',
      keyId: `projects/${PROJECT}/locations/europe-west1/keyRings/trackstack-dev-europe/cryptoKeys/data`,
      eventBucket: `trackstack-dev-europe-events-${PROJECT}`,
      eventTopic: `projects/${PROJECT}/topics/trackstack-dev-europe-events`,
      deadLetterTopic: `projects/${PROJECT}/topics/trackstack-dev-europe-events-dead-letter`,
      ingestFunction: 'trackstack-dev-europe-ingest',
    });
    expect(outputs.stageResources).toEqual({
      address: '203.0.113.10',
      configBucket: `trackstack-dev-config-${PROJECT}`,
      receiptsBucket: `trackstack-dev-receipts-${PROJECT}`,
      directoryDatabase: 'trackstack-dev',
      purgeFunction: 'trackstack-dev-purge',
    });
  });
});
