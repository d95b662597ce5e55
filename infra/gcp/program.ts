/**
 * The GCP program as a function of its validated configuration, so that `index.ts` stays a thin entry
 * point and tests can run the same code under `pulumi.runtime.setMocks`.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { Location } from '../../platform';
import { RegionalPlatform } from './components/regional-platform';
import { ServiceAgents } from './components/service-agents';
import type { GcpStackConfig } from './config';

/** What the program creates, for the stack outputs. */
export interface GcpProgram {
  /** The project's service agents, granted on every regional key. */
  readonly agents: ServiceAgents;
  /** One regional platform per configured location. */
  readonly platforms: Readonly<Partial<Record<Location, RegionalPlatform>>>;
}

/**
 * Declares the stage's resources: one {@link RegionalPlatform} per configured location. Global resources
 * (Firestore, the load balancer, monitoring) are added here by later slices.
 */
export function createGcpProgram(config: GcpStackConfig): GcpProgram {
  const agents = new ServiceAgents(`${config.stage}-agents`, { project: config.project });
  const platforms: Partial<Record<Location, RegionalPlatform>> = {};
  for (const location of config.locations) {
    platforms[location] = new RegionalPlatform(`${config.stage}-${location}`, {
      project: config.project,
      stage: config.stage,
      location,
      serviceAgents: agents.members,
    });
  }
  return { agents, platforms };
}

/** Per location: its region, key, buckets and topics, as the stack exports them. */
export function regionalOutputs(program: GcpProgram) {
  return Object.fromEntries(
    Object.entries(program.platforms).map(([location, p]) => [
      location,
      {
        region: p.region,
        keyId: p.key.key.id,
        eventBucket: p.store.eventBucket.name,
        configBucket: p.store.configBucket.name,
        eventTopic: p.events.topic.id,
        deadLetterTopic: p.events.deadLetterTopic.id,
      } satisfies Record<string, pulumi.Input<string>>,
    ]),
  );
}
