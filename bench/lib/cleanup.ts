/**
 * Last-resort cleanup of what the benchmark started (server children, moto, temp folders). Each section
 * cleans up after itself in `finally`; this covers what `finally` cannot: an uncaught crash, Ctrl-C, or a
 * SIGTERM from whoever runs the benchmark.
 */

const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const task of [...tasks]) {
    tasks.delete(task);
    try {
      task();
    } catch {
      // Best effort: one failed cleanup must not keep the others from running.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  // 'exit' handlers must be synchronous: every task only sends signals or removes files synchronously.
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping children`);
      runAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * Registers a synchronous cleanup run on exit or signal, unless unregistered first.
 * @returns the function that unregisters it (call it once the resource is released normally)
 */
export function onExitCleanup(task: () => void): () => void {
  install();
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}
