/**
 * The one Lambda construct of the project: every function Trackstack deploys is a `TrackstackFunction`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssetHashType, DockerImage, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { formatZodIssues } from '../../../platform';
import type { ServiceName } from '../../../../scripts/build-ingest';
import {
  acknowledgeFunctionOutsideVpc,
  acknowledgeSynchronousFunctionWithoutDlq,
  acknowledgeXRayWrite,
} from '../../../../policies/aws/acknowledgements';
import { REPO_ROOT } from '../naming';
import { EncryptedLogGroup } from './encrypted-log-group';

/**
 * The newest Node.js runtime that this aws-cdk-lib offers; cdk-nag's AwsSolutions-L1 accepts only the
 * newest of a family, so this moves with aws-cdk-lib upgrades.
 */
export const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** A zod schema of a function's environment: string variables in, anything out. */
export type EnvironmentSchema = z.ZodType<unknown, Record<string, string | undefined>>;

/** Properties of {@link TrackstackFunction}. */
export interface TrackstackFunctionProps<TSchema extends EnvironmentSchema> {
  /** Which bundle of `SERVICE_BUNDLES` (scripts/build-ingest.ts) the function runs. */
  readonly service: ServiceName;
  /**
   * What the function does, shown in the console.
   * @default - none
   */
  readonly description?: string;
  /**
   * The schema the handler parses its environment with; the environment is validated with it at synth,
   * so a function is never deployed with an environment its handler would refuse.
   */
  readonly environmentSchema: TSchema;
  /**
   * The environment, typed by the schema's input. Tokens (ARNs, names of resources in the stack) are
   * validated as opaque strings: their format is checked by the handler at cold start.
   */
  readonly environment: z.input<TSchema>;
  /** Memory, in MiB. */
  readonly memorySize: number;
  /** Concurrent executions reserved for, and at most used by, the function. */
  readonly reservedConcurrentExecutions: number;
  /** The regional key: encrypts the function's log group. */
  readonly encryptionKey: kms.IKey;
  /** The name of the function's log group. */
  readonly logGroupName: string;
  /** Days the function's logs are kept. */
  readonly logRetentionDays: number;
  /**
   * Longest an invocation may run.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Lowest level of application log lines that Lambda keeps.
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly applicationLogLevel?: lambda.ApplicationLogLevel;
}

/**
 * An opinionated Lambda function: ARM64, the newest Node.js runtime, JSON logs into an encrypted log group
 * with a fixed retention, X-Ray active tracing, reserved concurrency, a role of its own whose permissions
 * live in a customer-managed policy, and an environment validated at synth with the handler's own schema.
 *
 * The code is the project's own esbuild bundle (`tsx scripts/build-ingest.ts --service <name>`), built
 * locally; Docker is never used, and a failed build fails synth. `NodejsFunction` is not used because it
 * cannot apply the esbuild plugin that keeps the ingest bundle under the 1 MB bar of DESIGN §11; this way
 * the deployed bundle is byte for byte the one the tests and `npm run bench` measure. The asset hash is
 * the bundle's, so an asset changes only when the bundle does.
 *
 * Permissions: add them with {@link addToRolePolicy}. They go into {@link policy}, a customer-managed
 * policy, because the compliance packs refuse inline policies; the function is given the role without
 * policy updates, so nothing (not even a `grant*` call on the function) can add an inline policy behind
 * the construct's back.
 */
export class TrackstackFunction<TSchema extends EnvironmentSchema> extends Construct {
  /** The function. */
  public readonly function: lambda.Function;
  /** The function's execution role, used by this function only. */
  public readonly role: iam.Role;
  /** The customer-managed policy that holds the role's permissions. */
  public readonly policy: iam.ManagedPolicy;
  /** The function's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The environment as validated at synth (the schema's output, tokens left as they are). */
  public readonly environment: z.output<TSchema>;

  constructor(scope: Construct, id: string, props: TrackstackFunctionProps<TSchema>) {
    super(scope, id);
    const environment = validateEnvironment(this, props.environmentSchema, props.environment);
    this.environment = environment;

    this.logGroup = new EncryptedLogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      encryptionKey: props.encryptionKey,
      retentionDays: props.logRetentionDays,
    }).logGroup;

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.service} function`,
    });
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: `What the ${props.service} function may do`,
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
        }),
        new iam.PolicyStatement({
          sid: 'WriteTraces',
          actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
          resources: ['*'],
        }),
      ],
    });
    acknowledgeXRayWrite(this.policy);

    this.function = new lambda.Function(this, 'Function', {
      description: props.description,
      runtime: NODE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: bundledCode(props.service),
      memorySize: props.memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.applicationLogLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      logGroup: this.logGroup,
      role: this.role.withoutPolicyUpdates(),
      environment: toLambdaEnvironment(props.environment),
    });
    // Permissions must be attached before the first invocation, not merely before the next deployment.
    this.function.node.addDependency(this.policy);
    acknowledgeFunctionOutsideVpc(this.function);
    acknowledgeSynchronousFunctionWithoutDlq(this.function);
  }

  /** Adds a statement to the function's customer-managed policy. */
  public addToRolePolicy(statement: iam.PolicyStatement): void {
    this.policy.addStatements(statement);
  }
}

function validateEnvironment<TSchema extends EnvironmentSchema>(
  scope: Construct,
  schema: TSchema,
  environment: z.input<TSchema>,
): z.output<TSchema> {
  const result = schema.safeParse(environment);
  if (!result.success) {
    throw new Error(
      `[${scope.node.path}] invalid function environment:\n  ${formatZodIssues(result.error).join('\n  ')}`,
    );
  }
  return result.data as z.output<TSchema>;
}

function toLambdaEnvironment(environment: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment)) if (value !== undefined) out[key] = value;
  return out;
}

const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'build-ingest.ts');
const builtBundles = new Map<ServiceName, string>();

/**
 * The function's code: the service's bundle, built once per process by the project's build script and
 * copied into each asset directory (one synth bundles every regional stack, and a test file may synth
 * several apps).
 */
function bundledCode(service: ServiceName): lambda.Code {
  return lambda.Code.fromAsset(join(REPO_ROOT, 'services', service), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled or run: local bundling either succeeds or throws, so CDK never falls back to Docker.
      image: DockerImage.fromRegistry('trackstack/local-bundling-only'),
      // Documents the build and makes CDK's asset cache key differ per service.
      command: ['tsx', 'scripts/build-ingest.ts', '--service', service, '--out', '/asset-output'],
      local: {
        tryBundle(outputDir: string): boolean {
          cpSync(buildOnce(service), outputDir, { recursive: true });
          return true;
        },
      },
    },
  });
}

function buildOnce(service: ServiceName): string {
  const cached = builtBundles.get(service);
  if (cached) return cached;
  const outDir = mkdtempSync(join(tmpdir(), `trackstack-${service}-`));
  process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
  const result = spawnSync(
    process.execPath,
    [require.resolve('tsx/cli'), BUILD_SCRIPT, '--service', service, '--out', outDir],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(
      `Bundling the ${service} function failed (${result.error?.message ?? `exit ${result.status}`}):\n` +
        `${result.stderr}${result.stdout}`,
    );
  }
  builtBundles.set(service, outDir);
  return outDir;
}
