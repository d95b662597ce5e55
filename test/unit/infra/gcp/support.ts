/**
 * The GCP program's tests run it the way the scan does: in-process under `pulumi.runtime.setMocks`
 * (scripts/scan/gcp-program.ts), once per test file (jest gives each file its own module registry).
 */
import * as path from 'node:path';

export { runProgram, stackConfig, type Registered } from '../../../../scripts/scan/gcp-program';

/** The repository root, where `Pulumi.yaml` and the stack files live. */
export const ROOT = path.resolve(__dirname, '../../../..');
