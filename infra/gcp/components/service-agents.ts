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

/** The Cloud Storage and Pub/Sub service agents of the project, as IAM members. */
export class ServiceAgents extends pulumi.ComponentResource {
  /** Pub/Sub's agent; created on demand, as a project may not have it until Pub/Sub first needs it. */
  public readonly pubsubIdentity: gcp.projects.ServiceIdentity;
  /** Agent → IAM member (`serviceAccount:<email>`), for {@link RegionalKey}'s grants. */
  public readonly members: Readonly<Record<'storage' | 'pubsub', pulumi.Output<string>>>;

  constructor(name: string, props: ServiceAgentsProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:ServiceAgents', name, {}, opts);
    this.pubsubIdentity = new gcp.projects.ServiceIdentity(
      `${name}-pubsub`,
      { project: props.project, service: 'pubsub.googleapis.com' },
      { parent: this },
    );
    // Cloud Storage's agent exists once the API is on; reading it also creates it when it does not yet.
    const storage = gcp.storage.getProjectServiceAccountOutput({ project: props.project }, { parent: this });
    this.members = {
      storage: pulumi.interpolate`serviceAccount:${storage.emailAddress}`,
      pubsub: pulumi.interpolate`serviceAccount:${this.pubsubIdentity.email}`,
    };
    this.registerOutputs({ members: this.members });
  }
}
