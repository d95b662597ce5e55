/**
 * The few lines a benchmark server child and the bench process exchange. A child prints one ready line
 * with its port once it listens, and stops when its stdin closes: the parent closes it to stop the child,
 * and the OS closes it when the parent dies, so no child outlives a crashed or killed benchmark.
 */

/** Prefix of the line a child prints once it listens: `BENCH_READY {"port":1234}`. */
export const READY_PREFIX = 'BENCH_READY ';
/** Prefix of the line a child may print just before it exits: `BENCH_STATS {...}`. */
export const STATS_PREFIX = 'BENCH_STATS ';

/**
 * Per-IP rate of the ingest child's limiter. Every benchmark request comes from 127.0.0.1, so the
 * production rate would turn the run into a measurement of 429s; the parent prints this value.
 */
export const INGEST_IP_RATE_PER_SECOND = 1e9;

/** What a child reports once it listens. */
export interface ReadyMessage {
  readonly port: number;
  /**
   * The API key the child created while seeding (the ingest child: postbacks need it, and it is shown
   * only once, at creation).
   */
  readonly apiKey?: string;
}

/** Tells the parent that the server listens on `port`, with what else the parent needs from it. */
export function announceReady(port: number, extra: Omit<ReadyMessage, 'port'> = {}): void {
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({ port, ...extra } satisfies ReadyMessage)}\n`);
}

/** Reports figures the parent cannot see from outside (e.g. the service's counters). */
export function announceStats(stats: Record<string, unknown>): void {
  process.stdout.write(`${STATS_PREFIX}${JSON.stringify(stats)}\n`);
}

/**
 * Runs `stop` once, when stdin ends (parent asked, or parent died) or on SIGTERM/SIGINT, then exits.
 * Exiting through `process.exit` (not a kill) lets `--cpu-prof` write its profile.
 */
export function stopWhenParentLets(stop: () => Promise<void> | void): void {
  let stopping = false;
  const run = () => {
    if (stopping) return;
    stopping = true;
    Promise.resolve()
      .then(stop)
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
  };
  process.stdin.on('end', run);
  process.stdin.on('error', run);
  process.stdin.resume();
  process.once('SIGTERM', run);
  process.once('SIGINT', run);
}

/** Reads a required environment variable of the child. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set by the benchmark`);
  return value;
}
