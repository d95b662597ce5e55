/**
 * The Pulumi program for GCP. It validates the stack's configuration against the shared platform
 * definition and exports the regions it will serve; the GCP resources (docs/architecture.md, "Adding a
 * cloud") will be added here as ComponentResources.
 */
import { REGIONS } from '../../platform';
import { loadConfig } from './config';

const config = loadConfig();

/** The GCP region of every location this stack serves. */
export const regions = Object.fromEntries(config.locations.map((l) => [l, REGIONS[l].gcp]));
/** The stage this stack deploys. */
export const stage = config.stage;
