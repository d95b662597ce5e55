/**
 * Where in the repository a resource (or an acknowledgement) was declared, read from a stack trace: the
 * CDK records one per resource (`aws:cdk:creationStack` metadata) and per acknowledgement; the GCP program
 * runner captures one per registration. Source maps make the frames point at the TypeScript lines.
 */
import { relative, sep } from 'node:path';
import { REPO_ROOT } from '../../infra/build/paths';

/** A file of the repository and a line in it. */
export interface SourceLocation {
  /** Path relative to the repository root, with forward slashes. */
  readonly file: string;
  readonly line: number;
}

// `at fn (/abs/file.ts:12:3)`, `at /abs/file.ts:12:3`, or CDK's `new Foo (/abs/file.ts:12:3)`.
const FRAME = /\(?((?:[A-Za-z]:)?[^\s():]+):(\d+):\d+\)?\s*$/;

/**
 * The first frame of the trace that lies in one of the `preferred` folders of the repository (e.g.
 * `infra/`: the construct that declared the resource rather than the library that created the L1), else
 * the first frame in the repository outside `node_modules` and the scan itself; `undefined` when none.
 */
export function sourceLocation(
  frames: readonly string[],
  preferred: string | readonly string[] = [],
): SourceLocation | undefined {
  const inRepo: SourceLocation[] = [];
  for (const frame of frames) {
    const match = FRAME.exec(frame.trim());
    if (!match?.[1] || !match[2]) continue;
    const file = relative(REPO_ROOT, match[1]).split(sep).join('/');
    if (file.startsWith('..') || file.startsWith('/') || file.includes('node_modules/')) continue;
    if (file.startsWith('scripts/scan/')) continue;
    inRepo.push({ file, line: Number(match[2]) });
  }
  const prefixes = typeof preferred === 'string' ? [preferred] : preferred;
  return inRepo.find((l) => prefixes.some((p) => l.file.startsWith(p))) ?? inRepo[0];
}

/** `file:line`, as editors and terminals link it. */
export function formatSourceLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}`;
}
