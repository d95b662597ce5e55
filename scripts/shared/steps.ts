/**
 * Timed steps: `npm run synth` and `npm run deploy:local` both measure each of their steps and print the
 * times in one table, so that a slow step is named rather than guessed at.
 */

/** The time one step took. */
export interface StepTiming {
  readonly step: string;
  readonly ms: number;
  /** One line of what the step found. */
  readonly detail?: string;
}

/**
 * Runs one step and appends its time to `timings`, also when it throws (the report then shows how far the
 * command got and how long the failing step ran).
 * @param detail summarizes the step's result for the table; only asked for when the step succeeds
 */
export async function timeStep<T>(
  timings: StepTiming[],
  step: string,
  run: () => T | Promise<T>,
  detail?: (value: T) => string,
): Promise<T> {
  const start = performance.now();
  let value: T;
  try {
    value = await run();
  } catch (err) {
    timings.push({ step, ms: performance.now() - start });
    throw err;
  }
  timings.push({ step, ms: performance.now() - start, ...(detail ? { detail: detail(value) } : {}) });
  return value;
}

/** `1.23 s` */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Column layout of {@link formatTimings}; the defaults are synth's table. */
export interface TimingLayout {
  /** Width of the step column. @default the longest step name (or `total`) */
  readonly stepWidth?: number;
  /** Between the step column and the time. @default two spaces */
  readonly gap?: string;
}

/** The step table: each step's time and what it found, then the total. */
export function formatTimings(
  result: { readonly timings: readonly StepTiming[]; readonly totalMs: number },
  layout: TimingLayout = {},
): string[] {
  const width = layout.stepWidth ?? Math.max(...result.timings.map((t) => t.step.length), 'total'.length);
  const gap = layout.gap ?? '  ';
  const row = (step: string, ms: number, detail?: string) =>
    `  ${step.padEnd(width)}${gap}${formatSeconds(ms).padStart(8)}${detail ? `  ${detail}` : ''}`;
  return [...result.timings.map((t) => row(t.step, t.ms, t.detail)), row('total', result.totalMs)];
}
