/**
 * The project's Google-managed service agents that encrypt at rest on the platform's behalf. They are per
 * project, not per region, so the program looks them up once and every {@link RegionalKey} grants them.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

/** Properties of {@link ServiceAgents}. */
export interface ServiceAgentsProps {
  /** GCP project whose agents are looked up. */
  readonly project: string;
}

/**
 * The agents created on demand (a project may not have one until its service first needs it), by the
 * short name the grants use. Each writes data encrypted with the regional key: Pub/Sub messages, the
 * functions' images (Artifact Registry), the functions themselves (Cloud Functions, Cloud Run).
 */
const REGIONAL_AGENTS = {
  pubsub: 'pubsub.googleapis.com',
  artifactregistry: 'artifactregistry.googleapis.com',
  cloudfunctions: 'cloudfunctions.googleapis.com',
  run: 'run.googleapis.com',
} as const;

/** Short name of an agent that every regional key grants. */
export type RegionalAgent = keyof typeof REGIONAL_AGENTS | 'storage';

/** The service agents of the project, as IAM members. */
export class ServiceAgents extends pulumi.ComponentResource {
  /** Agent → IAM member (`serviceAccount:<email>`), granted on every {@link RegionalKey}. */
  public readonly members: Readonly<Record<RegionalAgent, pulumi.Output<string>>>;
  /** Firestore's agent, granted only on the key of the directory's region. */
  public readonly firestore: pulumi.Output<string>;

  constructor(name: string, props: ServiceAgentsProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:ServiceAgents', name, {}, opts);
    const identity = (agent: string, service: string) =>
      pulumi.interpolate`serviceAccount:${
        new gcp.projects.ServiceIdentity(
          `${name}-${agent}`,
          { project: props.project, service },
          { parent: this },
        ).email
      }`;
    // Cloud Storage's agent exists once the API is on; reading it also creates it when it does not yet.
    const storage = gcp.storage.getProjectServiceAccountOutput({ project: props.project }, { parent: this });
    this.members = {
      storage: pulumi.interpolate`serviceAccount:${storage.emailAddress}`,
      ...(Object.fromEntries(
        Object.entries(REGIONAL_AGENTS).map(([agent, service]) => [agent, identity(agent, service)]),
      ) as Record<keyof typeof REGIONAL_AGENTS, pulumi.Output<string>>),
    };
    this.firestore = identity('firestore', 'firestore.googleapis.com');
    this.registerOutputs({ members: this.members, firestore: this.firestore });
  }
}
