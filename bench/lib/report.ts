/** Printing helpers: every figure the benchmark measures ends up in one summary table with its bar. */

/** Outcome of a figure against its bar; `INFO` figures have no bar, `ERROR` ones could not be measured. */
export type Verdict = 'PASS' | 'MISS' | 'INFO' | 'ERROR';

/** One row of the summary. */
export interface Figure {
  readonly section: string;
  readonly name: string;
  readonly value: string;
  /** The bar as text, e.g. `≤ 20 ms`; empty for information only. */
  readonly bar: string;
  readonly verdict: Verdict;
}

/** A figure compared with an upper bound. */
export function atMost(
  section: string,
  name: string,
  value: number,
  bound: number,
  unit: string,
  digits = 0,
): Figure {
  return bounded(section, name, value, bound, unit, digits, '≤', value <= bound);
}

/** A figure compared with a lower bound. */
export function atLeast(
  section: string,
  name: string,
  value: number,
  bound: number,
  unit: string,
  digits = 0,
): Figure {
  return bounded(section, name, value, bound, unit, digits, '≥', value >= bound);
}

function bounded(
  section: string,
  name: string,
  value: number,
  bound: number,
  unit: string,
  digits: number,
  sign: '≤' | '≥',
  pass: boolean,
): Figure {
  return {
    section,
    name,
    value: `${num(value, digits)}${unit}`,
    bar: `${sign} ${num(bound, digits)}${unit}`,
    verdict: pass ? 'PASS' : 'MISS',
  };
}

/** A figure printed for context, without a bar. */
export function info(section: string, name: string, value: string): Figure {
  return { section, name, value, bar: '', verdict: 'INFO' };
}

/** A section that crashed: its figures are missing. */
export function failed(section: string, err: unknown): Figure {
  const message = err instanceof Error ? err.message : String(err);
  return {
    section,
    name: 'crashed',
    value: message.split('\n')[0]!.slice(0, 60),
    bar: '',
    verdict: 'ERROR',
  };
}

/** A number with thousands separators and a fixed number of decimals. */
export function num(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Renders rows as a fixed-width text table; `align` marks right-aligned columns with `r`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) =>
    align[i] === 'r' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => cell(c, i))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Prints a section heading. */
export function heading(title: string): void {
  console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 100 - title.length))}`);
}

/** Prints the summary table of every figure. */
export function printSummary(figures: readonly Figure[]): void {
  heading('Summary');
  console.log(
    table(
      ['section', 'figure', 'value', 'bar', 'result'],
      figures.map((f) => [f.section, f.name, f.value, f.bar, f.verdict === 'INFO' ? '' : f.verdict]),
      '  rr',
    ),
  );
}
