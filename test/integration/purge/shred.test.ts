/**
 * Crypto-shredding against moto: the account's events are encrypted with data keys wrapped by a KMS key
 * in each region. Once the purge has deleted the wrapped keys (and before it deletes a single object), a
 * fresh reader with full KMS access cannot decrypt any of the account's ciphertext in any region.
 */
import { GetObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { KMSClient } from '@aws-sdk/client-kms';
import { LOCATIONS, REGIONS, type Location } from '../../../platform';
import {
  DataKeyService,
  UnknownDataKeyError,
  type EncryptedEnvelope,
} from '../../../services/ingest/src/crypto/data-keys';
import { KmsKeyProvider } from '../../../services/ingest/src/crypto/kms-key-provider';
import { motoEndpoint } from '../../support/env';
import { motoClientConfig } from '../../../tooling/moto';
import { awsWorld, type AwsWorld } from '../../support/purge-aws';
import { PERSONAL_IP } from '../../support/purge-world';

const endpoint = motoEndpoint();
const TARGET = 'acc_expired89d';
const CONTROL = 'acc_active0001';

class Killed extends Error {}

/** Every envelope of the account in a location's bucket, all versions. */
async function envelopes(
  world: AwsWorld,
  location: Location,
  accountId: string,
): Promise<EncryptedEnvelope[]> {
  const s3 = world.s3[location];
  const bucket = world.buckets[location];
  const list = await s3.send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `account=${accountId}/` }),
  );
  return Promise.all(
    (list.Versions ?? []).map(async (v) => {
      const got = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId }),
      );
      return (JSON.parse(await got.Body!.transformToString()) as { pii: EncryptedEnvelope }).pii;
    }),
  );
}

/** A reader that has never seen the key: its own KMS client (full access to the key) and directory. */
function freshReader(world: AwsWorld, location: Location, keyId: string): DataKeyService {
  return new DataKeyService({
    provider: new KmsKeyProvider({
      client: new KMSClient(motoClientConfig(endpoint, REGIONS[location].aws)),
      keyId,
    }),
    directory: world.directory,
    location,
  });
}

test('after the shred step, no region can decrypt the account, while its objects still exist', async () => {
  const world = await awsWorld(endpoint, { pick: (a) => a.id === TARGET || a.id === CONTROL });
  const keyIds = world.kmsKeyIds;
  const ciphertext = Object.fromEntries(
    await Promise.all(LOCATIONS.map(async (l) => [l, await envelopes(world, l, TARGET)] as const)),
  ) as Record<Location, EncryptedEnvelope[]>;
  for (const l of LOCATIONS) {
    expect(ciphertext[l]).toHaveLength(5);
    // Before: a fresh reader decrypts every version.
    for (const env of ciphertext[l]) {
      expect(await freshReader(world, l, keyIds[l]).decryptFields(TARGET, env)).toMatchObject({
        ip: PERSONAL_IP,
      });
    }
  }

  const rt = await world.runtime({
    job: {
      hooks: {
        checkpoint: ({ name }) => {
          if (name === 'shred:done') throw new Killed('stopped right after crypto-shredding');
        },
      },
    },
  });
  await expect(rt.job.run()).rejects.toBeInstanceOf(Killed);

  for (const l of LOCATIONS) {
    expect(await world.directory.getDataKey(TARGET, l)).toBeUndefined();
    // The objects are all still there...
    expect(await envelopes(world, l, TARGET)).toEqual(ciphertext[l]);
    // ...and none of them opens any more.
    for (const env of ciphertext[l]) {
      await expect(freshReader(world, l, keyIds[l]).decryptFields(TARGET, env)).rejects.toBeInstanceOf(
        UnknownDataKeyError,
      );
    }
    // The active account is unaffected.
    const [controlEnvelope] = await envelopes(world, l, CONTROL);
    expect(await freshReader(world, l, keyIds[l]).decryptFields(CONTROL, controlEnvelope!)).toMatchObject({
      ip: PERSONAL_IP,
    });
  }
});
