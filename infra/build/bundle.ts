/**
 * Builds each Lambda service into one minified bundle with the local esbuild: `dist/<service>/index.js`
 * (the handler `index.handler`) plus its static files: the ingest service (and its snippet files) and the
 * purge job. The infrastructure names each service's entry point here and never imports its code; the
 * command line is `infra/build/cli.ts`.
 */
import { build, type Plugin } from 'esbuild';
import { cpSync, mkdirSync, statSync } from 'node:fs';
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

/** A Lambda function's source: its entry module and any folder shipped beside the bundle. */
export interface ServiceBundle {
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

/** Every function the project deploys. The CDK construct bundles these through the same `buildService`. */
export const SERVICE_BUNDLES = {
  ingest: { entry: 'services/ingest/src/lambda.ts', assets: ['services/ingest/static'] },
  purge: { entry: 'services/purge/src/lambda.ts' },
  // The KeyValueStore client signs with SigV4A, whose JS signer registers itself with the SDK copy it is
  // loaded beside; the Lambda runtime's SDK does not ship it, so this bundle carries its own SDK.
  'edge-health': { entry: 'services/edge-health/src/lambda.ts', bundleAwsSdk: true },
  // Revokes keys in the KeyValueStore too (SigV4A), like the health check.
  'incident-contain': { entry: 'services/incident/src/lambda.ts', bundleAwsSdk: true },
} as const satisfies Record<string, ServiceBundle>;

/** Name of a deployable bundle. */
export type ServiceName = keyof typeof SERVICE_BUNDLES;

/** Builds one service into `<outDir>/index.js` and returns its path and size in bytes. */
export async function buildService(
  name: ServiceName,
  outDir: string,
): Promise<{ file: string; bytes: number }> {
  const spec: ServiceBundle = SERVICE_BUNDLES[name];
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'index.js');
  await build({
    ...INGEST_BUNDLE_OPTIONS,
    external: spec.bundleAwsSdk ? [] : INGEST_BUNDLE_OPTIONS.external,
    entryPoints: [resolve(REPO_ROOT, spec.entry)],
    outfile: file,
    logLevel: 'warning',
    plugins: [slimBundlePlugin],
  });
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
