/**
 * Runs the ingest service the way `npm run local` does, but as a child process of a test, so that fault
 * tests can send it signals, watch its memory and see it crash or exit without taking jest down with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SPOOL_FILE_SUFFIX } from '../../services/ingest/src/sinks/spool';
import { freePort } from '../../tooling/moto';
import { REPO_ROOT } from '../../infra/build/paths';

const ENTRY = join(REPO_ROOT, 'services', 'ingest', 'src', 'local.ts');
const OUTPUT_TAIL_CHARS = 256 * 1024;

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running ingest service in a child process. */
export interface IngestProcess {
  readonly child: ChildProcess;
  /** Pid of the node process that serves (not of a wrapper). */
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The demo API key; only the first run on a data dir creates and prints one. */
  readonly apiKey: string | undefined;
  /** Settles when the process has exited. */
  readonly exited: Promise<ChildExit>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** The last 256 KiB of its stdout and stderr, interleaved. */
  output(): string;
  /** Sends a signal and waits for the exit; SIGKILL after `graceMs`. Resolves at once if already gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ChildExit>;
}

/** Options of {@link spawnIngest}. */
export interface SpawnIngestOptions {
  /** Extra environment; `TS_LOG_LEVEL` defaults to `warn` to keep per-run output small. */
  readonly env?: Record<string, string>;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
}

/**
 * Starts `services/ingest/src/local.ts --port <free> --host 127.0.0.1 --data-dir <dataDir>` and resolves once
 * `/healthz` answers 200.
 *
 * Runs `node --import tsx` rather than the `tsx` binary: the binary serves from a grandchild process, so
 * the pid the test holds would be a wrapper whose memory says nothing about the service.
 */
export async function spawnIngest(dataDir: string, options: SpawnIngestOptions = {}): Promise<IngestProcess> {
  // freePort() releases the port before the child binds it, so another process may win the race: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnOnce(dataDir, await freePort(), options);
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function spawnOnce(dataDir: string, port: number, options: SpawnIngestOptions): Promise<IngestProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ENTRY, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, TS_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_TAIL_CHARS * 2) output = output.slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<ChildExit> => {
    if (!alive()) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (!alive()) throw new Error(`ingest child exited before it was ready (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`ingest child did not answer /healthz on ${url} in time:\n${output}`);
    }
    // The banner is printed after listen() resolves; the health check proves the port is ours, not a stranger's.
    if (output.includes(`on ${url}`)) {
      const ok = await Promise.race([
        fetch(`${url}/healthz`).then(
          (r) => r.status === 200,
          () => false,
        ),
        spawnError,
      ]);
      if (ok) break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('ingest child has no pid');
  return {
    child,
    pid,
    url,
    port,
    dataDir,
    apiKey: /API key:\s+(tsk_[a-z0-9]+_[A-Za-z0-9]+)/.exec(output)?.[1],
    exited,
    alive,
    output: () => output.slice(-OUTPUT_TAIL_CHARS),
    stop,
  };
}

/** Resident set size of a process in KiB, from `/proc/<pid>/status` (Linux). */
export async function vmRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m?.[1]) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Names of the complete spool files (`*.spool`) in a spool directory; an absent directory has none. */
export async function spoolFiles(spoolDir: string): Promise<string[]> {
  try {
    return (await readdir(spoolDir)).filter((n) => n.endsWith(SPOOL_FILE_SUFFIX)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
