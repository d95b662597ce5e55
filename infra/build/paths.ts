/** Where things are in the repository, for the build, the CDK app and the tools that run from it. */
import { resolve } from 'node:path';

/** The repository root. */
export const REPO_ROOT = resolve(__dirname, '..', '..');
