/**
 * Starts and stops a real `moto_server` on a free loopback port, for tests and the benchmark.
 * Nothing here mocks AWS: the real `@aws-sdk/*` clients talk HTTP to moto.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A running moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'moto_server was not found on PATH. Install it with `pip install "moto[server]>=5"` ' +
  '(it provides the moto_server command), then run the tests again.';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Throws with an install hint when `moto_server` is not installed. */
export function assertMotoInstalled(): void {
  const probe = spawnSync('moto_server', ['--help'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new Error(INSTALL_HINT);
}

/** A moto process that answers HTTP, with the stderr tail for error messages. */
export interface MotoProcess {
  readonly endpoint: string;
  readonly port: number;
  /** The last 4,000 characters moto wrote to stderr. */
  stderr(): string;
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Spawns a moto server process (the `moto_server` command, or a patched one) and resolves once it answers
 * `/moto-api/`; fails with moto's own words if it exits or stays silent for 30 s.
 */
export async function spawnMoto(
  command: string,
  args: readonly string[],
  port: number,
  accountId: string,
  label = 'moto_server',
): Promise<MotoProcess> {
  const child: ChildProcess = spawn(command, [...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ACCOUNT_ID: accountId },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} did not answer on ${endpoint} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    port,
    stderr: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/**
 * Starts moto_server and resolves once it answers HTTP.
 * @param accountId the account id moto reports (MOTO_ACCOUNT_ID)
 * @param port a fixed port, e.g. to restart a stopped server at the same endpoint; a free one by default
 */
export async function startMoto(accountId = '123456789012', port?: number): Promise<MotoServer> {
  assertMotoInstalled();
  port ??= await freePort();
  const moto = await spawnMoto('moto_server', ['-H', '127.0.0.1', '-p', String(port)], port, accountId);
  return { endpoint: moto.endpoint, port: moto.port, stop: moto.stop };
}

/** Client settings for the AWS SDK v3 pointed at a moto endpoint. */
export function motoClientConfig(endpoint: string, region = 'us-east-1') {
  return {
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}
