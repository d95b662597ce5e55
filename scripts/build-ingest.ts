/**
 * Builds the ingest service into one minified bundle with the local esbuild: `dist/ingest/index.js` (the
 * Lambda handler `index.handler`) plus the static snippet files.
 */
import { build, type Plugin } from 'esbuild';
import { cpSync, mkdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';

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
 * Keeps the bundle small (DESIGN §11: ≤ 1 MB) without changing behaviour:
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

/** Builds the bundle and returns its path and size in bytes. */
export async function buildIngest(
  outDir = resolve(__dirname, '..', 'dist', 'ingest'),
): Promise<{ file: string; bytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'index.js');
  await build({
    ...INGEST_BUNDLE_OPTIONS,
    entryPoints: [resolve(__dirname, '..', 'services', 'ingest', 'src', 'lambda.ts')],
    outfile: file,
    logLevel: 'warning',
    plugins: [slimBundlePlugin],
  });
  cpSync(resolve(__dirname, '..', 'services', 'ingest', 'static'), join(outDir, 'static'), {
    recursive: true,
  });
  return { file, bytes: statSync(file).size };
}

if (require.main === module) {
  buildIngest().then(
    ({ file, bytes }) => console.log(`built ${file}: ${(bytes / 1024).toFixed(1)} KiB`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
