/**
 * A set of short-lived objects (in-flight responses, in-flight batches) kept in an array of slots.
 *
 * A JS `Set` under constant add and delete rebuilds its hash table every few hundred operations, and V8
 * links each replaced table to its successor, entries included, for iterators that may still walk it.
 * Once one replaced table has reached the old generation, it keeps its successors, and everything they
 * held, alive through every young-generation collection until the next full one. For the node server's
 * in-flight responses that promoted about 2.5 KB per request and made the mean young collection about
 * three times longer (see docs/architecture.md, "Garbage collection on the hot path"). Slots are
 * overwritten in place, and the array stops growing at the peak count, so nothing here outlives its
 * removal.
 */
export class SlotSet<T extends object> {
  private readonly slots: Array<T | undefined> = [];
  private readonly free: number[] = [];
  private count = 0;

  /** Number of values held. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` and returns its slot, the handle {@link delete} takes. */
  add(value: T): number {
    const slot = this.free.pop() ?? this.slots.length;
    this.slots[slot] = value;
    this.count += 1;
    return slot;
  }

  /** Removes the value in `slot`. A slot that is already free, or was never given out, is ignored. */
  delete(slot: number): void {
    if (this.slots[slot] === undefined) return;
    this.slots[slot] = undefined;
    this.free.push(slot);
    this.count -= 1;
  }

  /** The values held, in slot order (not insertion order). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const value of this.slots) if (value !== undefined) yield value;
  }
}
