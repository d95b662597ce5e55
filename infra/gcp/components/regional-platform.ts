/**
 * Everything the platform runs in one GCP region. This slice holds the key, the buckets and the topics;
 * the ingest function, the writer and the purge job (later slices) are added here, beside them, using the
 * same key and grants.
 */
import * as pulumi from '@pulumi/pulumi';
import { REGIONS, type Location, type Stage } from '../../../platform';
import { EventStore } from './event-store';
import { EventTopic } from './event-topic';
import { RegionalKey } from './regional-key';

/** Properties of a {@link RegionalPlatform}. */
export interface RegionalPlatformProps {
  /** GCP project that hosts the stage. */
  readonly project: string;
  /** The stage, for names. */
  readonly stage: Stage;
  /** The location; its GCP region comes from the platform's `REGIONS`. */
  readonly location: Location;
  /** The project's service agents that encrypt at rest (see `ServiceAgents`), as IAM members. */
  readonly serviceAgents: Readonly<Record<string, pulumi.Input<string>>>;
}

/** One location's key, buckets and topics. */
export class RegionalPlatform extends pulumi.ComponentResource {
  /** The GCP region, e.g. `europe-west1`. */
  public readonly region: string;
  /** The region's key (CMEK of everything below). */
  public readonly key: RegionalKey;
  /** The event and config buckets. */
  public readonly store: EventStore;
  /** The event topic and its dead-letter topic. */
  public readonly events: EventTopic;

  constructor(name: string, props: RegionalPlatformProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:RegionalPlatform', name, {}, opts);
    this.region = REGIONS[props.location].gcp;
    const where = {
      project: props.project,
      stage: props.stage,
      location: props.location,
      region: this.region,
    };
    this.key = new RegionalKey(
      `${name}-key`,
      { ...where, serviceAgents: props.serviceAgents },
      { parent: this },
    );
    this.store = new EventStore(`${name}-store`, { ...where, key: this.key }, { parent: this });
    this.events = new EventTopic(`${name}-events`, { ...where, key: this.key }, { parent: this });
    this.registerOutputs({ region: this.region, keyId: this.key.key.id });
  }
}
