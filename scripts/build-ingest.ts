/**
 * `npm run build:ingest`: `tsx scripts/build-ingest.ts [--service ingest|purge] [--out DIR]` builds one
 * service's bundle (default `dist/<service>`). CDK's local bundling runs this command, so the deployed
 * bundle is byte for byte the one the tests and the benchmark measure.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_BUNDLES, buildService, type ServiceName } from '../infra/build/bundle';
import { REPO_ROOT } from '../infra/build/paths';

const { values } = parseArgs({
  options: { service: { type: 'string', default: 'ingest' }, out: { type: 'string' } },
  strict: true,
});
const name = values.service as string;
if (!(name in SERVICE_BUNDLES)) {
  console.error(`--service must be one of ${Object.keys(SERVICE_BUNDLES).join(', ')}, got "${name}"`);
  process.exit(2);
}
buildService(name as ServiceName, resolve(values.out ?? join(REPO_ROOT, 'dist', name))).then(
  ({ file, bytes }) => console.log(`built ${file}: ${(bytes / 1024).toFixed(1)} KiB`),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
