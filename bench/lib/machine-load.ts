/**
 * How much of the machine other processes used while a round ran. On a shared 2-core machine a busy
 * neighbour (a test suite, a compiler) moves the figures more than most code changes do, so each round
 * prints it next to its figures. Linux only (reads /proc); elsewhere the share is simply unknown.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

/** CPU time of the machine and of the benchmark's own processes at one instant. */
export interface CpuSnapshot {
  readonly atMs: number;
  /** Non-idle CPU time of the whole machine. */
  readonly machineBusyMs: number;
  /** CPU time of this process and of the given children. */
  readonly ownBusyMs: number;
}

let tickMs: number | undefined;

function clockTickMs(): number {
  if (tickMs === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const hz = Number(out.stdout?.trim());
    tickMs = 1000 / (Number.isFinite(hz) && hz > 0 ? hz : 100);
  }
  return tickMs;
}

function processBusyMs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * clockTickMs();
}

/**
 * CPU time (user and system) a process has used so far, in milliseconds; `undefined` where /proc is
 * unavailable or the process is gone. Per answered request, it is the server's cost, which the
 * machine's noise moves far less than its throughput.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    return processBusyMs(pid);
  } catch {
    return undefined;
  }
}

/** Takes a snapshot; `undefined` where /proc is unavailable or a child is gone. */
export function cpuSnapshot(childPids: readonly number[]): CpuSnapshot | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, ...ticks] = line.trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal: idle and iowait are the not-busy ones.
    const values = ticks.slice(0, 8).map(Number);
    const busyTicks = values.reduce((a, b) => a + b, 0) - values[3]! - values[4]!;
    const own = process.cpuUsage();
    let ownBusyMs = (own.user + own.system) / 1000;
    for (const pid of childPids) ownBusyMs += processBusyMs(pid);
    return { atMs: performance.now(), machineBusyMs: busyTicks * clockTickMs(), ownBusyMs };
  } catch {
    return undefined;
  }
}

/** Share (0–1) of the machine's total CPU capacity used by other processes between two snapshots. */
export function othersShare(
  before: CpuSnapshot | undefined,
  after: CpuSnapshot | undefined,
): number | undefined {
  if (!before || !after) return undefined;
  const capacity = (after.atMs - before.atMs) * availableParallelism();
  if (capacity <= 0) return undefined;
  const others = after.machineBusyMs - before.machineBusyMs - (after.ownBusyMs - before.ownBusyMs);
  return Math.min(1, Math.max(0, others / capacity));
}
