/**
 * The Pulumi program for GCP (`main` of `Pulumi.yaml`): validates the stack's configuration, then declares
 * one regional platform (key, buckets, topics) per configured location. See `program.ts`.
 */
import { REGIONS } from '../../platform';
import { loadConfig } from './config';
import { createGcpProgram, regionalOutputs } from './program';

const config = loadConfig();
const program = createGcpProgram(config);

/** The GCP region of every location this stack serves. */
export const regions = Object.fromEntries(config.locations.map((l) => [l, REGIONS[l].gcp]));
/** The stage this stack deploys. */
export const stage = config.stage;
/** Per location: region, KMS key id, bucket names and topic ids, for the services' configuration. */
export const locations = regionalOutputs(program);
