/**
 * The GCP functions' source: each bundle of `infra/build` built once per `pulumi up`, into `dist/<name>`,
 * with a content hash, so the uploaded archive (and so the function) changes exactly when the bundle does.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildService, type GcpServiceName } from '../build/bundle';
import { REPO_ROOT } from '../build/paths';

/** A built bundle: the folder to archive and the sha256 of its files. */
export interface BuiltBundle {
  /** Folder with `index.js`, `package.json` and the bundle's assets. */
  readonly dir: string;
  /** Hex sha256 over every file's path and bytes. */
  readonly sha256: string;
}

/** Builds a bundle for the program; the program receives this as a parameter so tests can pass another. */
export type BundleSource = (name: GcpServiceName) => Promise<BuiltBundle>;

function filesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesOf(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** The sha256 of a folder: every file's relative path and content, in sorted order. */
export function hashFolder(dir: string): string {
  const hash = createHash('sha256');
  for (const file of filesOf(dir).sort()) {
    hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const built = new Map<GcpServiceName, Promise<BuiltBundle>>();

/** Builds each bundle once per process with the repository's build script (the one CDK runs too). */
export const buildGcpBundle: BundleSource = (name) => {
  let pending = built.get(name);
  if (!pending) {
    const dir = resolve(REPO_ROOT, 'dist', name);
    pending = buildService(name, dir).then(() => ({ dir, sha256: hashFolder(dir) }));
    built.set(name, pending);
  }
  return pending;
};
