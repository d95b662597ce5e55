/**
 * One opinionated Cloud Functions (2nd gen) wrapper, the GCP counterpart of the AWS `TrackstackFunction`:
 * its own service account, its source archive uploaded by the program (no Docker), CMEK on the function
 * and on the Artifact Registry repository its build writes to, a dedicated build account, an environment
 * validated at preview by the service's own schema, and Node.js on one runtime for every function.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { z } from 'zod';
import type { GcpServiceName } from '../../build/bundle';
import type { BundleSource } from '../bundles';
import type { RegionalKey } from './regional-key';
import type { StageStorage } from './stage-storage';

/** The Node.js runtime of every function (the bundles target Node 20 syntax; 22 is a supported LTS). */
export const GCF_RUNTIME = 'nodejs22';
/** The ingress that admits only the load balancer (and internal traffic). */
export const LB_INGRESS = 'ALLOW_INTERNAL_AND_GCLB';
/** The ingress that admits only Google-internal callers (Pub/Sub push, Cloud Scheduler) and the VPC. */
export const INTERNAL_INGRESS = 'ALLOW_INTERNAL_ONLY';

/** A zod schema of a function's environment: string variables in, anything out. */
export type EnvironmentSchema = z.ZodType<unknown, Record<string, string | undefined>>;

/** What a region gives every function in it: where its source goes, its build's repository and account. */
export interface FunctionSite {
  readonly project: string;
  /** The GCP region. */
  readonly region: string;
  /** The region's key: CMEK of the function and its image. */
  readonly key: RegionalKey;
  /** The stage storage: the source archives and the build account. */
  readonly storage: StageStorage;
  /** The Artifact Registry repository (CMEK) the build pushes the image to. */
  readonly repository: gcp.artifactregistry.Repository;
  /** Builds a bundle. */
  readonly bundles: BundleSource;
}

/** Properties of a {@link ServiceFunction}. */
export interface ServiceFunctionProps<TSchema extends EnvironmentSchema> {
  /** Where it runs. */
  readonly site: FunctionSite;
  /** The function's name (`platform/names.ts`). */
  readonly functionName: string;
  /** The service account id (`names.gcpServiceAccount`). */
  readonly accountId: string;
  /** Which bundle of `infra/build` it runs. */
  readonly bundle: GcpServiceName;
  /** What the function does. */
  readonly description: string;
  /** The schema its handler parses the environment with; the environment is checked against it at preview. */
  readonly environmentSchema: TSchema;
  /** The environment, typed by the schema's input. */
  readonly environment: { [K in keyof z.input<TSchema>]: pulumi.Input<z.input<TSchema>[K]> };
  /** `LB_INGRESS` for a function behind the load balancer, `INTERNAL_INGRESS` otherwise. */
  readonly ingress: typeof LB_INGRESS | typeof INTERNAL_INGRESS;
  /** Memory in MiB. */
  readonly memoryMb: number;
  /** Most instances. */
  readonly maxInstances: number;
  /**
   * Concurrent requests per instance (more than 1 needs a whole vCPU, which the wrapper then gives).
   * @default 80
   */
  readonly concurrency?: number;
  /**
   * Longest one request may run, in seconds.
   * @default 60
   */
  readonly timeoutSeconds?: number;
}

/** A Cloud Function (2nd gen) with its service account and source. */
export class ServiceFunction extends pulumi.ComponentResource {
  /** The identity the function runs as; grants to it are the function's only permissions. */
  public readonly account: gcp.serviceaccount.Account;
  /** The function. */
  public readonly fn: gcp.cloudfunctionsv2.Function;
  /** The account as an IAM member (`serviceAccount:<email>`). */
  public readonly member: pulumi.Output<string>;

  constructor(
    name: string,
    props: ServiceFunctionProps<EnvironmentSchema>,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('trackstack:gcp:ServiceFunction', name, {}, opts);
    const { site } = props;
    this.account = new gcp.serviceaccount.Account(
      `${name}-sa`,
      { project: site.project, accountId: props.accountId, displayName: props.description },
      { parent: this },
    );
    this.member = pulumi.interpolate`serviceAccount:${this.account.email}`;
    const source = site.storage.sourceArchive(props.bundle, site.bundles);
    const environment = validatedEnvironment(props.functionName, props.environmentSchema, props.environment);
    const concurrency = props.concurrency ?? 80;
    this.fn = new gcp.cloudfunctionsv2.Function(
      name,
      {
        project: site.project,
        location: site.region,
        name: props.functionName,
        description: props.description,
        kmsKeyName: site.key.key.id,
        buildConfig: {
          runtime: GCF_RUNTIME,
          entryPoint: 'handler',
          source: { storageSource: { bucket: source.bucket, object: source.name } },
          dockerRepository: site.repository.id,
          serviceAccount: site.storage.buildAccount.id,
        },
        serviceConfig: {
          availableMemory: `${props.memoryMb}Mi`,
          availableCpu: concurrency > 1 ? '1' : undefined,
          maxInstanceCount: props.maxInstances,
          maxInstanceRequestConcurrency: concurrency,
          timeoutSeconds: props.timeoutSeconds ?? 60,
          ingressSettings: props.ingress,
          serviceAccountEmail: this.account.email,
          environmentVariables: environment,
          allTrafficOnLatestRevision: true,
        },
      },
      { parent: this, dependsOn: site.key.agentGrants },
    );
    this.registerOutputs({ uri: this.fn.url, account: this.account.email });
  }

  /**
   * Lets `member` call the function (roles/run.invoker on the Cloud Run service behind it).
   * @param name the Pulumi name of the grant
   */
  grantInvoke(name: string, member: pulumi.Input<string>): gcp.cloudrunv2.ServiceIamMember {
    return new gcp.cloudrunv2.ServiceIamMember(
      name,
      {
        project: this.fn.project,
        location: this.fn.location,
        name: this.fn.name,
        role: 'roles/run.invoker',
        member,
      },
      { parent: this },
    );
  }
}

/**
 * The environment, resolved and checked against the handler's schema: a value the handler would refuse
 * fails `pulumi preview`, naming the variable, instead of a deployed function failing at its first request.
 */
function validatedEnvironment(
  functionName: string,
  schema: EnvironmentSchema,
  environment: Record<string, pulumi.Input<string | undefined>>,
): pulumi.Output<Record<string, string>> {
  return pulumi.all(environment).apply((resolved) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(resolved)) if (v !== undefined) env[k] = v;
    const result = schema.safeParse(env);
    if (!result.success)
      throw new Error(
        `The environment of ${functionName} is invalid: ${result.error.issues
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    return env;
  });
}
