/**
 * `npm run build:ingest`: `tsx infra/build/cli.ts [--service ingest|purge] [--out DIR]` builds one
 * service's bundle (default `dist/<service>`). CDK's local bundling runs this same command, so the deployed
 * bundle is byte for byte the one the tests and the benchmark measure.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_BUNDLES, buildService, type ServiceName } from './bundle';
import { REPO_ROOT } from './paths';

function usage(message: string): never {
  console.error(
    `${message}\nusage: npm run build:ingest -- [--service ${Object.keys(SERVICE_BUNDLES).join('|')}] [--out DIR]`,
  );
  process.exit(2);
}

let values: { service?: string; out?: string };
try {
  ({ values } = parseArgs({
    options: { service: { type: 'string', default: 'ingest' }, out: { type: 'string' } },
    strict: true,
  }));
} catch (err) {
  usage((err as Error).message);
}
const name = values.service ?? 'ingest';
if (!(name in SERVICE_BUNDLES)) {
  usage(`--service must be one of ${Object.keys(SERVICE_BUNDLES).join(', ')}, got "${name}"`);
}
buildService(name as ServiceName, resolve(values.out ?? join(REPO_ROOT, 'dist', name))).then(
  ({ file, bytes }) => console.log(`built ${file}: ${(bytes / 1024).toFixed(1)} KiB`),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
