/**
 * The GCP program as a function of its validated configuration, so that `index.ts` stays a thin entry
 * point and tests can run the same code under `pulumi.runtime.setMocks` (with their own bundle source).
 */
import type * as pulumi from '@pulumi/pulumi';
import { PRIMARY_LOCATION, REGIONS, type Location } from '../../platform';
import type { BundleSource } from './bundles';
import { Directory } from './components/directory';
import { Edge } from './components/edge';
import { Monitoring } from './components/monitoring';
import { PurgeJob } from './components/purge';
import { RegionalKey } from './components/regional-key';
import { RegionalPlatform } from './components/regional-platform';
import { ServiceAgents } from './components/service-agents';
import { StageStorage } from './components/stage-storage';
import type { GcpStackConfig } from './config';

/** What the program creates, for the stack outputs. */
export interface GcpProgram {
  /** The project's service agents, granted on every regional key. */
  readonly agents: ServiceAgents;
  /** The stage-wide buckets (config, receipts, sources) and the build account. */
  readonly storage: StageStorage;
  /** The Firestore directory. */
  readonly directory: Directory;
  /** One regional platform per configured location. */
  readonly platforms: Readonly<Partial<Record<Location, RegionalPlatform>>>;
  /** The load balancer, CDN and Cloud Armor. */
  readonly edge: Edge;
  /** The purge function and schedule. */
  readonly purge: PurgeJob;
  /** Audit logs and alerts. */
  readonly monitoring: Monitoring;
}

/**
 * Declares the stage's resources: the regional keys (the primary location's always, since the stage-wide
 * buckets and the directory live there), the stage storage and directory, one {@link RegionalPlatform} per
 * configured location, the edge, the purge and monitoring.
 */
export function createGcpProgram(config: GcpStackConfig, bundles: BundleSource): GcpProgram {
  const { project, stage } = config;
  const agents = new ServiceAgents(`${stage}-agents`, { project });
  const keyLocations = [...new Set<Location>([PRIMARY_LOCATION, ...config.locations])];
  const keys = new Map<Location, RegionalKey>();
  for (const location of keyLocations)
    keys.set(
      location,
      new RegionalKey(`${stage}-${location}-key`, {
        project,
        stage,
        location,
        region: REGIONS[location].gcp,
        serviceAgents: agents.members,
      }),
    );
  const primaryKey = keys.get(PRIMARY_LOCATION) as RegionalKey;
  const primaryRegion = REGIONS[PRIMARY_LOCATION].gcp;
  const storage = new StageStorage(`${stage}-storage`, {
    project,
    stage,
    region: primaryRegion,
    key: primaryKey,
  });
  const directory = new Directory(`${stage}-directory`, {
    project,
    stage,
    region: primaryRegion,
    key: primaryKey,
    firestoreAgent: agents.firestore,
  });
  const platforms: Partial<Record<Location, RegionalPlatform>> = {};
  for (const location of config.locations) {
    platforms[location] = new RegionalPlatform(`${stage}-${location}`, {
      project,
      stage,
      location,
      key: keys.get(location) as RegionalKey,
      pubsubAgent: agents.members.pubsub,
      directory,
      storage,
      bundles,
      ingestMemoryMb: config.ingestMemoryMb,
      ingestMaxInstances: config.ingestMaxInstances,
      ingestLimits: config.ingestLimits,
    });
  }
  const regional = Object.values(platforms);
  const edge = new Edge(`${stage}-edge`, {
    project,
    stage,
    negs: regional.map((p) => p.neg.selfLink),
    configBucket: storage.configBucket,
    ingestLimits: config.ingestLimits,
    ...(config.domainName !== undefined && { domainName: config.domainName }),
  });
  // The purge runs beside the primary platform, or the first configured one when the primary is not.
  const home = platforms[PRIMARY_LOCATION] ?? (regional[0] as RegionalPlatform);
  const purge = new PurgeJob(`${stage}-purge`, {
    project,
    stage,
    site: {
      project,
      region: home.region,
      key: home.key,
      storage,
      repository: home.repository,
      bundles,
    },
    eventBuckets: Object.fromEntries(Object.entries(platforms).map(([l, p]) => [l, p.store.eventBucket])),
    storage,
    directory,
  });
  const monitoring = new Monitoring(`${stage}-monitoring`, {
    project,
    stage,
    logRetentionDays: config.logRetentionDays,
    ...(config.alarmEmail !== undefined && { alarmEmail: config.alarmEmail }),
  });
  return { agents, storage, directory, platforms, edge, purge, monitoring };
}

/** Per location: its region, key, bucket, topics and function, as the stack exports them. */
export function regionalOutputs(program: GcpProgram) {
  return Object.fromEntries(
    Object.entries(program.platforms).map(([location, p]) => [
      location,
      {
        region: p.region,
        keyId: p.key.key.id,
        eventBucket: p.store.eventBucket.name,
        eventTopic: p.events.topic.id,
        deadLetterTopic: p.events.deadLetterTopic.id,
        ingestFunction: p.ingest.fn.name,
      } satisfies Record<string, pulumi.Input<string>>,
    ]),
  );
}

/** The stage-wide outputs: where the CDN and the load balancer answer, and the stage's buckets. */
export function stageOutputs(program: GcpProgram) {
  return {
    address: program.edge.address.address,
    configBucket: program.storage.configBucket.name,
    receiptsBucket: program.storage.receiptsBucket.name,
    directoryDatabase: program.directory.database.name,
    purgeFunction: program.purge.fn.fn.name,
  } satisfies Record<string, pulumi.Input<string>>;
}
