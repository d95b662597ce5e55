/**
 * `publish-config` on GCP, without the directory: the Cloud Storage config store and the snippet upload
 * against a stand-in bucket (Cloud Storage has no emulator here: the stand-in keeps generations in memory
 * and records calls, so these tests prove the keys, metadata and deletions asked for, not GCS itself),
 * the Cloud CDN invalidation against a stand-in of the Compute API, and the `--cloud`/`--project` flags.
 */
import { CAMPAIGN_CONFIG } from '../../../platform';
import { GcsConfigStore } from '../../../services/shared/campaign-config/gcs-config-store';
import { CONFIG_CACHE_CONTROL } from '../../../services/shared/campaign-config/s3-config-store';
import { parsePublishArgs, runPublishCli, USAGE } from '../../../services/publisher/src/cli';
import {
  gcpInvalidationPaths,
  invalidateUrlMap,
  MAX_GCP_INVALIDATION_PATHS,
  publishSnippetToGcs,
} from '../../../services/publisher/src/gcp';
import { snippetKey, SNIPPET_FILE } from '../../../services/publisher/src/snippet';
import { readFileSync } from 'node:fs';
import { computeStandIn } from '../incident/armor-stand-in';
import { standInBucket } from './gcs-stand-in';

const doc = (accountId: string, campaignId: string, countAnonymous = true) => ({
  v: 1 as const,
  accountId,
  campaignId,
  autoPageview: true,
  countAnonymous,
});

describe('GcsConfigStore on a stand-in bucket', () => {
  test('writes at the AWS keys with the CDN metadata and reads back', async () => {
    const s = standInBucket();
    const store = new GcsConfigStore({ bucket: s.bucket });
    expect(store.description).toBe('gs://trackstack-dev-config-trackstack-test');
    await store.put(doc('acc_shopworld01', 'cmp_spring'));
    const [o] = s.objects;
    expect(o?.name).toBe(CAMPAIGN_CONFIG.path('acc_shopworld01', 'cmp_spring'));
    expect(o?.name).toBe('config/acc_shopworld01/cmp_spring.json');
    expect(o).toMatchObject({ contentType: 'application/json', cacheControl: CONFIG_CACHE_CONTROL });
    expect(await store.get('acc_shopworld01', 'cmp_spring')).toEqual(doc('acc_shopworld01', 'cmp_spring'));
    expect(await store.get('acc_shopworld01', 'cmp_autumn')).toBeUndefined();
  });

  test('deleteAccount removes every generation of the account and nothing of another', async () => {
    const s = standInBucket();
    const store = new GcsConfigStore({ bucket: s.bucket });
    await store.put(doc('acc_shopworld01', 'cmp_spring'));
    await store.put(doc('acc_shopworld01', 'cmp_spring', false));
    await store.put(doc('acc_shopworld01', 'cmp_autumn'));
    await store.put(doc('acc_shopworld012', 'cmp_spring'));
    expect(await store.deleteAccount('acc_shopworld01')).toEqual({ deleted: 2, versions: 3 });
    expect(s.objects.map((o) => o.name)).toEqual(['config/acc_shopworld012/cmp_spring.json']);
    await expect(store.deleteAccount('acc_../x')).rejects.toThrow(RangeError);
  });

  test('the snippet goes to its content-addressed key once', async () => {
    const s = standInBucket();
    const key = snippetKey(readFileSync(SNIPPET_FILE));
    expect(await publishSnippetToGcs(s.bucket, { dryRun: true })).toEqual({ key, result: 'created' });
    expect(s.objects).toHaveLength(0);
    expect(await publishSnippetToGcs(s.bucket)).toEqual({ key, result: 'created' });
    expect(await publishSnippetToGcs(s.bucket)).toEqual({ key, result: 'unchanged' });
    expect(s.objects.map((o) => [o.name, o.contentType])).toEqual([[key, 'text/javascript; charset=utf-8']]);
  });
});

describe('Cloud CDN invalidation on a stand-in Compute API', () => {
  test('one invalidateCache call per changed path on the URL map', async () => {
    const c = computeStandIn('trackstack-test', 'unused');
    const ops = await invalidateUrlMap(c.request, 'trackstack-test', 'trackstack-dev-lb', [
      '/config/acc_shopworld01/cmp_spring.json',
      '/config/acc_shopworld01/cmp_autumn.json',
    ]);
    expect(ops.split(', ')).toHaveLength(2);
    expect(c.calls).toEqual([
      {
        method: 'POST',
        url: 'https://compute.googleapis.com/compute/v1/projects/trackstack-test/global/urlMaps/trackstack-dev-lb/invalidateCache',
        data: { path: '/config/acc_shopworld01/cmp_spring.json' },
      },
      expect.objectContaining({ data: { path: '/config/acc_shopworld01/cmp_autumn.json' } }),
    ]);
  });

  test('many paths become one /config/* and a failure says what to do', async () => {
    const many = Array.from(
      { length: MAX_GCP_INVALIDATION_PATHS + 1 },
      (_, i) => `/config/acc_x/cmp_${i}.json`,
    );
    expect(gcpInvalidationPaths(many)).toEqual(['/config/*']);
    await expect(
      invalidateUrlMap(() => Promise.reject(new Error('429 rate limited')), 'trackstack-test', 'lb', [
        '/config/a',
      ]),
    ).rejects.toThrow('the documents were written, but invalidating /config/a on the URL map lb failed');
  });
});

describe('publish-config --cloud', () => {
  test.each([
    [['--all', '--cloud', 'gcp'], '--cloud goes only with --stage'],
    [['--all', '--stage', 'dev', '--cloud', 'gcp'], '--cloud gcp needs --project <GCP project id>'],
    [['--all', '--stage', 'dev', '--cloud', 'gcloud'], '--cloud must be aws or gcp; got "gcloud"'],
    [['--all', '--stage', 'dev', '--project', 'trackstack-test'], '--project goes only with --cloud gcp'],
    [
      ['--all', '--stage', 'dev', '--cloud', 'gcp', '--project', '1abc'],
      '--project must be a GCP project id',
    ],
    [
      ['--all', '--stage', 'dev', '--cloud', 'gcp', '--project', 'trackstack-test', '--bucket', 'b'],
      '--bucket name AWS resources: not with --cloud gcp',
    ],
  ])('%j exits 2 with a precise message and writes nothing', async (argv, message) => {
    const s = standInBucket();
    const c = computeStandIn('trackstack-test', 'unused');
    let err = '';
    const code = await runPublishCli(argv, {
      stdout: () => undefined,
      stderr: (t) => (err += t),
      gcsBucket: s.bucket,
      computeRequest: c.request,
    });
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(s.calls).toEqual([]);
    expect(c.calls).toEqual([]);
  });

  test('the flags parse and --help lists them', () => {
    expect(
      parsePublishArgs(['--all', '--stage', 'prod', '--cloud', 'gcp', '--project', 'trackstack-test']),
    ).toMatchObject({
      stage: 'prod',
      cloud: 'gcp',
      project: 'trackstack-test',
    });
    expect(USAGE).toContain('--cloud <aws|gcp>');
    expect(USAGE).toContain('--project <id>');
  });
});
