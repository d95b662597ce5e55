/**
 * Starts and stops the Pub/Sub and Firestore emulators of the installed Google Cloud SDK on free loopback
 * ports, for the integration tests. Nothing here mocks GCP: the real `@google-cloud/*` clients talk to the
 * emulators, which they find through `PUBSUB_EMULATOR_HOST` and `FIRESTORE_EMULATOR_HOST`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './moto';

/** What to install when an emulator cannot start: the SDK, both emulator components and a Java runtime. */
export const GCP_EMULATORS_INSTALL_HINT =
  'Install the Google Cloud SDK, its Pub/Sub and Firestore emulators and Java with ' +
  '`apt-get install google-cloud-cli google-cloud-cli-pubsub-emulator ' +
  'google-cloud-cli-firestore-emulator openjdk-17-jre-headless`, then run the tests again.';

/** The project id the emulators and the test clients agree on (the emulators accept any). */
export const EMULATOR_PROJECT_ID = 'trackstack-test';

/** Running Pub/Sub and Firestore emulators. */
export interface GcpEmulators {
  /** `127.0.0.1:<port>`, the value of `PUBSUB_EMULATOR_HOST`. */
  readonly pubsubHost: string;
  /** `127.0.0.1:<port>`, the value of `FIRESTORE_EMULATOR_HOST`. */
  readonly firestoreHost: string;
  /** The project id the Pub/Sub emulator was started with. */
  readonly projectId: string;
  /** Milliseconds each emulator took to answer HTTP after being spawned. */
  readonly startupMs: { readonly pubsub: number; readonly firestore: number };
  /** Stops both emulators (their whole process groups: gcloud runs them as java children). */
  stop(): Promise<void>;
}

/** Thrown when the SDK, an emulator component or Java is missing or an emulator does not come up. */
export class GcpEmulatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GcpEmulatorError';
  }
}

/**
 * Throws {@link GcpEmulatorError} with the install hint when `gcloud` or `java` is not on PATH.
 * @param env the environment whose PATH is searched
 */
export function assertGcpEmulatorsInstalled(env: NodeJS.ProcessEnv = process.env): void {
  for (const [command, args] of [
    ['gcloud', ['--version']],
    ['java', ['-version']],
  ] as const) {
    const probe = spawnSync(command, [...args], { stdio: 'ignore', env });
    if (probe.error || probe.status !== 0) {
      throw new GcpEmulatorError(`${command} was not found on PATH. ${GCP_EMULATORS_INSTALL_HINT}`, {
        cause: probe.error,
      });
    }
  }
}

/** One spawned emulator that answers HTTP. */
interface EmulatorProcess {
  readonly host: string;
  readonly startupMs: number;
  stop(): Promise<void>;
}

/** Emulator start-up on a cold JVM takes about 5 s here; this leaves room for a loaded machine. */
const STARTUP_TIMEOUT_MS = 60_000;

async function startEmulator(
  name: 'pubsub' | 'firestore',
  extraArgs: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<EmulatorProcess> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const started = Date.now();
  // detached: the emulator gets its own process group, so stop() reaches gcloud's java grandchildren,
  // which a plain kill of gcloud would leave running.
  const child: ChildProcess = spawn(
    'gcloud',
    ['beta', 'emulators', name, 'start', `--host-port=${host}`, '--quiet', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env },
  );
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const groupAlive = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 0);
      return child.pid !== undefined;
    } catch {
      return false;
    }
  };
  // Resolves once every process of the group is gone, not just gcloud: the java child outlives it
  // briefly, and its port must be free when stop() resolves.
  const stop = async () => {
    killGroup('SIGTERM');
    const deadline = Date.now() + 5000;
    while (groupAlive()) {
      if (Date.now() > deadline) killGroup('SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      // gcloud names the missing component in its own words ("... component is not installed").
      throw new GcpEmulatorError(
        `the ${name} emulator did not start (${spawnError?.message ?? `exit ${child.exitCode ?? child.signalCode}`}): ` +
          `${output.trim()}\n${GCP_EMULATORS_INSTALL_HINT}`,
        { cause: spawnError },
      );
    }
    try {
      const res = await fetch(`http://${host}/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > STARTUP_TIMEOUT_MS) {
      await stop();
      throw new GcpEmulatorError(
        `the ${name} emulator did not answer on ${host} within ${STARTUP_TIMEOUT_MS / 1000} s: ` +
          `${output.trim()}\n${GCP_EMULATORS_INSTALL_HINT}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // Keep draining the pipes so a chatty emulator never blocks on a full one.
  child.stdout?.resume();
  child.stderr?.resume();
  return { host, startupMs: Date.now() - started, stop };
}

/**
 * Starts both emulators at once on free ports and resolves once each answers HTTP.
 * @param projectId the Pub/Sub emulator's project
 * @param env the environment of the emulator processes (and whose PATH is searched)
 * @throws GcpEmulatorError, with the install hint, when the SDK, an emulator or Java is missing
 */
export async function startGcpEmulators(
  projectId = EMULATOR_PROJECT_ID,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GcpEmulators> {
  assertGcpEmulatorsInstalled(env);
  // A data dir of its own: gcloud writes env.yaml there, and parallel runs must not share one.
  const dataDir = mkdtempSync(join(tmpdir(), 'trackstack-pubsub-'));
  const results = await Promise.allSettled([
    startEmulator('pubsub', [`--project=${projectId}`, `--data-dir=${dataDir}`], env),
    startEmulator('firestore', [], env),
  ]);
  const [pubsub, firestore] = results;
  if (pubsub.status === 'rejected' || firestore.status === 'rejected') {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    rmSync(dataDir, { recursive: true, force: true });
    throw pubsub.status === 'rejected' ? pubsub.reason : (firestore as PromiseRejectedResult).reason;
  }
  return {
    pubsubHost: pubsub.value.host,
    firestoreHost: firestore.value.host,
    projectId,
    startupMs: { pubsub: pubsub.value.startupMs, firestore: firestore.value.startupMs },
    stop: async () => {
      await Promise.all([pubsub.value.stop(), firestore.value.stop()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
