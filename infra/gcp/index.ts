/**
 * The Pulumi program for GCP (`main` of `Pulumi.yaml`): validates the stack's configuration, builds the
 * functions' bundles with the repository's build script, then declares the stage (see `program.ts`).
 */
import { REGIONS } from '../../platform';
import { buildGcpBundle } from './bundles';
import { loadConfig } from './config';
import { createGcpProgram, regionalOutputs, stageOutputs } from './program';

const config = loadConfig();
const program = createGcpProgram(config, buildGcpBundle);

/** The GCP region of every location this stack serves. */
export const regions = Object.fromEntries(config.locations.map((l) => [l, REGIONS[l].gcp]));
/** The stage this stack deploys. */
export const stage = config.stage;
/** Per location: region, KMS key id, bucket, topics and ingest function, for operators and tools. */
export const locations = regionalOutputs(program);
/** The load balancer's address, the stage's buckets, directory and purge function. */
export const stageResources = stageOutputs(program);
