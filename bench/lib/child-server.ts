/**
 * Starts a benchmark server (`bench/servers/*.ts`) in its own node process, so the load generator in the
 * bench process never shares an event loop or a core's time slice accounting with the server it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { READY_PREFIX, STATS_PREFIX, type ReadyMessage } from '../servers/child-protocol';
import { onExitCleanup } from './cleanup';
import { REPO_ROOT } from '../../infra/build/paths';

/** A running server child. */
export interface ChildServer {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The child's ready line, with anything it reported besides its port. */
  readonly ready: ReadyMessage;
  /**
   * Closes the child's stdin (its stop signal), waits for it to exit and returns the stats line it printed,
   * if any. Kills it if it has not exited within `timeoutMs`.
   */
  stop(timeoutMs?: number): Promise<{ code: number | null; stats?: Record<string, number> }>;
}

/** Options of {@link startChildServer}. */
export interface ChildServerOptions {
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** Writes a V8 CPU profile of the child into this folder on exit (`node --cpu-prof`). */
  readonly cpuProfDir?: string;
  /** @default 60000 */
  readonly readyTimeoutMs?: number;
}

/**
 * Spawns `node --import tsx bench/servers/<script>` and resolves once it printed its port.
 * @throws Error with the child's stderr when it exits or stays silent before listening
 */
export async function startChildServer(
  name: string,
  script: string,
  options: ChildServerOptions = {},
): Promise<ChildServer> {
  const execArgv = ['--import', 'tsx'];
  if (options.cpuProfDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  const { NODE_OPTIONS: _dropped, ...parentEnv } = process.env;
  const child: ChildProcess = spawn(
    process.execPath,
    [...execArgv, resolve(__dirname, '..', 'servers', script)],
    {
      cwd: REPO_ROOT,
      // The parent may run under a loader via NODE_OPTIONS; the child gets exactly the flags above.
      env: { ...parentEnv, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const unregister = onExitCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  // Broken pipe when the child is gone already: its exit is reported through 'exit', not here.
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let stats: Record<string, number> | undefined;

  const ready = await new Promise<ReadyMessage>((resolveReady, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${name} did not report a port within ${options.readyTimeoutMs ?? 60_000} ms: ${stderr}`),
      );
    }, options.readyTimeoutMs ?? 60_000);
    lines.on('line', (line) => {
      if (line.startsWith(READY_PREFIX)) {
        clearTimeout(timer);
        resolveReady(JSON.parse(line.slice(READY_PREFIX.length)) as ReadyMessage);
      } else if (line.startsWith(STATS_PREFIX)) {
        stats = JSON.parse(line.slice(STATS_PREFIX.length)) as Record<string, number>;
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening: ${stderr}`));
    });
  });

  return {
    name,
    pid: child.pid ?? -1,
    url: `http://127.0.0.1:${ready.port}`,
    ready,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      unregister();
      const code = await exited;
      if (code !== 0) throw new Error(`${name} exited with code ${code ?? child.signalCode}: ${stderr}`);
      return { code, stats };
    },
  };
}
