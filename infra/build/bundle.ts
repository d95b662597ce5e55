/**
 * Builds each deployable function into one minified bundle with the local esbuild: `dist/<service>/index.js`
 * plus its static files. AWS bundles export `handler` for Lambda; GCP bundles export `handler` for the
 * Functions Framework and get a `package.json` that pins the Google client libraries they load, which Cloud
 * Build installs (as the Lambda runtime provides the AWS SDK), so both clouds' bundles stay within the same
 * size bar. The infrastructure names each service's entry point here and never imports its code; the
 * command line is `infra/build/cli.ts`.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { basename, extname, join, resolve } from 'node:path';
import { REPO_ROOT } from './paths';

/** Options shared with the CDK construct's `NodejsFunction` bundling. */
export const INGEST_BUNDLE_OPTIONS = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  legalComments: 'none',
  // The Lambda Node.js runtime provides AWS SDK v3; the service loads it only when the environment selects
  // a cloud sink, key provider or directory.
  external: ['@aws-sdk/*'] as string[],
} as const;

/**
 * Keeps the bundle small (the bar is 1 MB) without changing behaviour:
 * - zod ships every locale's error messages; the service speaks English only.
 * - iconv-lite's CJK tables serve charsets that the service refuses with 415 before any body is decoded
 *   (see `requireContentType` in `app.ts`), so they can never be reached.
 */
export const slimBundlePlugin: Plugin = {
  name: 'trackstack-slim',
  setup(b) {
    b.onResolve({ filter: /locales\/index\.c?js$/ }, (args) =>
      args.importer.includes(`${'node_modules'}/zod/`)
        ? { path: resolve(args.resolveDir, args.path, '..', 'en' + extname(args.path)), namespace: 'zod-en' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-en' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      loader: 'js',
      resolveDir: resolve(args.path, '..'),
    }));
    b.onLoad({ filter: /iconv-lite[\\/]encodings[\\/]tables[\\/].*\.json$/ }, () => ({
      contents: '[]',
      loader: 'json',
    }));
  },
};

/** Packages a GCP bundle leaves to Cloud Build's `npm install` (pinned in its generated `package.json`). */
export const GCP_RUNTIME_PACKAGES = [
  '@google-cloud/firestore',
  '@google-cloud/functions-framework',
  '@google-cloud/kms',
  '@google-cloud/pubsub',
  '@google-cloud/storage',
  'google-auth-library',
] as const;

/** A function's source: its cloud, its entry module and any folder shipped beside the bundle. */
export interface ServiceBundle {
  /** Where the bundle runs: Lambda (`aws`) or Cloud Functions 2nd gen (`gcp`). */
  readonly cloud: 'aws' | 'gcp';
  /** Entry module, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  /** Folders copied next to `index.js`, relative to the repository root. */
  readonly assets?: readonly string[];
  /**
   * Bundle the AWS SDK too instead of using the one the Lambda runtime provides.
   * @default false
   */
  readonly bundleAwsSdk?: boolean;
}

/** Every function the project deploys. CDK and the Pulumi program bundle these through `buildService`. */
export const SERVICE_BUNDLES = {
  ingest: { cloud: 'aws', entry: 'services/ingest/src/lambda.ts', assets: ['services/ingest/static'] },
  purge: { cloud: 'aws', entry: 'services/purge/src/lambda.ts' },
  // The KeyValueStore client signs with SigV4A, whose JS signer registers itself with the SDK copy it is
  // loaded beside; the Lambda runtime's SDK does not ship it, so this bundle carries its own SDK.
  'edge-health': { cloud: 'aws', entry: 'services/edge-health/src/lambda.ts', bundleAwsSdk: true },
  // Revokes keys in the KeyValueStore too (SigV4A), like the health check.
  'incident-contain': { cloud: 'aws', entry: 'services/incident/src/lambda.ts', bundleAwsSdk: true },
  'ingest-gcp': { cloud: 'gcp', entry: 'services/ingest/src/gcf.ts', assets: ['services/ingest/static'] },
  'writer-gcp': { cloud: 'gcp', entry: 'services/writer/src/gcf.ts' },
  'purge-gcp': { cloud: 'gcp', entry: 'services/purge/src/gcf.ts' },
} as const satisfies Record<string, ServiceBundle>;

/** Name of a deployable bundle. */
export type ServiceName = keyof typeof SERVICE_BUNDLES;
/** Name of a bundle that runs on Lambda. */
export type AwsServiceName = {
  [K in ServiceName]: (typeof SERVICE_BUNDLES)[K]['cloud'] extends 'aws' ? K : never;
}[ServiceName];
/** Name of a bundle that runs on Cloud Functions. */
export type GcpServiceName = Exclude<ServiceName, AwsServiceName>;

/** The packages a bundle left external and imports, from esbuild's metafile. */
function externalPackages(metafile: Metafile): Set<string> {
  const found = new Set<string>();
  for (const input of Object.values(metafile.inputs))
    for (const imp of input.imports)
      if (imp.external && !isBuiltin(imp.path)) {
        const parts = imp.path.split('/');
        found.add(imp.path.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? imp.path));
      }
  return found;
}

/**
 * The `package.json` of a GCP bundle: the Google packages it imports, at the exact versions this
 * repository pins, so Cloud Build installs what the tests ran against.
 * @throws Error when an imported package is not pinned to one exact version in the root `package.json`
 */
function gcpPackageJson(name: string, packages: ReadonlySet<string>): string {
  const root = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    engines?: Record<string, string>;
  };
  const dependencies: Record<string, string> = {};
  for (const pkg of [...packages].sort()) {
    const version = root.dependencies?.[pkg];
    if (!version || !/^\d+\.\d+\.\d+$/.test(version))
      throw new Error(`${name}: ${pkg} must be a dependency pinned to an exact version in package.json`);
    dependencies[pkg] = version;
  }
  return JSON.stringify(
    { name: `trackstack-${name}`, private: true, main: 'index.js', engines: root.engines, dependencies },
    null,
    2,
  );
}

/** Builds one service into `<outDir>/index.js` and returns its path and size in bytes. */
export async function buildService(
  name: ServiceName,
  outDir: string,
): Promise<{ file: string; bytes: number }> {
  const spec: ServiceBundle = SERVICE_BUNDLES[name];
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'index.js');
  const external =
    spec.cloud === 'gcp'
      ? [...INGEST_BUNDLE_OPTIONS.external, ...GCP_RUNTIME_PACKAGES]
      : spec.bundleAwsSdk
        ? []
        : INGEST_BUNDLE_OPTIONS.external;
  const { metafile } = await build({
    ...INGEST_BUNDLE_OPTIONS,
    external,
    entryPoints: [resolve(REPO_ROOT, spec.entry)],
    outfile: file,
    logLevel: 'warning',
    metafile: true,
    plugins: [slimBundlePlugin],
  });
  if (spec.cloud === 'gcp') {
    const packages = externalPackages(metafile);
    // The AWS SDK is imported lazily by code paths a GCP environment never selects.
    for (const pkg of packages) if (pkg.startsWith('@aws-sdk/')) packages.delete(pkg);
    writeFileSync(join(outDir, 'package.json'), gcpPackageJson(name, packages) + '\n');
  }
  for (const asset of spec.assets ?? [])
    cpSync(resolve(REPO_ROOT, asset), join(outDir, basename(asset)), { recursive: true });
  return { file, bytes: statSync(file).size };
}

/** Builds the ingest bundle (by default into `dist/ingest`). */
export function buildIngest(
  outDir = resolve(REPO_ROOT, 'dist', 'ingest'),
): Promise<{ file: string; bytes: number }> {
  return buildService('ingest', outDir);
}
