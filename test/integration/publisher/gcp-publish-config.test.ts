/**
 * `npm run publish-config -- --stage dev --cloud gcp --project <p>` with the directory in the real
 * Firestore emulator (started by the jest global setup), the config bucket a stand-in of Cloud Storage and
 * the CDN invalidation a stand-in of the Compute API (neither has an emulator here: the stand-ins prove the
 * object keys, metadata and calls asked for, not that GCS or Cloud CDN accept them).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Firestore } from '@google-cloud/firestore';
import { names } from '../../../platform';
import { runPublishCli } from '../../../services/publisher/src/cli';
import { snippetKey, SNIPPET_FILE } from '../../../services/publisher/src/snippet';
import { FirestoreDirectory } from '../../../services/shared/directory/firestore-directory';
import { computeStandIn } from '../../unit/incident/armor-stand-in';
import { standInBucket } from '../../unit/publisher/gcs-stand-in';
import { gcpEmulators } from '../gcp/emulators';

const { projectId } = gcpEmulators();
const db = new Firestore({ projectId, databaseId: names.gcpDirectoryDatabase('dev') });
const directory = new FirestoreDirectory({ client: db, collection: names.gcpDirectoryCollection() });
const account = `acc_pub${randomBytes(4).toString('hex')}`;

afterAll(() => db.terminate());

async function run(
  bucket: ReturnType<typeof standInBucket>,
  compute: ReturnType<typeof computeStandIn>,
  ...argv: string[]
) {
  let out = '';
  let err = '';
  const code = await runPublishCli([...argv, '--stage', 'dev', '--cloud', 'gcp', '--project', projectId], {
    stdout: (t) => (out += `${t}\n`),
    stderr: (t) => (err += `${t}\n`),
    gcsBucket: bucket.bucket,
    computeRequest: compute.request,
  });
  return { code, out, err };
}

test('configs and the snippet go to the AWS keys, the changed paths are invalidated on the URL map', async () => {
  await directory.putAccount({
    accountId: account,
    status: 'active',
    homeLocation: 'europe',
    createdAt: '2026-01-01T00:00:00Z',
  });
  for (const campaignId of ['cmp_spring', 'cmp_summer'])
    await directory.putCampaign({
      accountId: account,
      campaignId,
      name: campaignId,
      countAnonymous: true,
      allowedOrigins: [],
    });
  const bucket = standInBucket(names.gcpConfigBucket('dev', projectId));
  const compute = computeStandIn(projectId, 'unused');

  const first = await run(bucket, compute, '--all', '--account', account);
  expect(first.err).toBe('');
  expect(first.code).toBe(0);
  expect(bucket.objects.map((o) => o.name).sort()).toEqual(
    [
      snippetKey(readFileSync(SNIPPET_FILE)),
      `config/${account}/cmp_spring.json`,
      `config/${account}/cmp_summer.json`,
    ].sort(),
  );
  expect(JSON.parse(bucket.objects.find((o) => o.name.endsWith('cmp_spring.json'))!.data.toString())).toEqual(
    {
      v: 1,
      accountId: account,
      campaignId: 'cmp_spring',
      autoPageview: true,
      countAnonymous: true,
    },
  );
  const url = `https://compute.googleapis.com/compute/v1/projects/${projectId}/global/urlMaps/${names.gcpUrlMap('dev')}/invalidateCache`;
  expect(compute.calls).toEqual([
    { method: 'POST', url, data: { path: `/config/${account}/cmp_spring.json` } },
    { method: 'POST', url, data: { path: `/config/${account}/cmp_summer.json` } },
  ]);
  expect(first.out).toContain(`on URL map ${names.gcpUrlMap('dev')} for 2 path(s)`);
  expect(first.out).toContain('Home locations: not written at the GCP edge');

  // Nothing changed: nothing written, nothing invalidated.
  const saves = bucket.calls.filter((c) => c.startsWith('save')).length;
  const second = await run(bucket, compute, '--all', '--account', account);
  expect(second.code).toBe(0);
  expect(bucket.calls.filter((c) => c.startsWith('save'))).toHaveLength(saves);
  expect(compute.calls).toHaveLength(2);
  expect(second.out).toContain('No invalidation: nothing changed.');
}, 30_000);
