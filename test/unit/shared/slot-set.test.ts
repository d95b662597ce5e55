import { SlotSet } from '../../../services/shared/slot-set';

describe('SlotSet', () => {
  it('holds what was added until its slot is deleted', () => {
    const set = new SlotSet<{ n: number }>();
    const a = { n: 1 };
    const b = { n: 2 };
    const slotA = set.add(a);
    const slotB = set.add(b);
    expect(set.size).toBe(2);
    expect([...set]).toEqual([a, b]);
    set.delete(slotA);
    expect(set.size).toBe(1);
    expect([...set]).toEqual([b]);
    set.delete(slotB);
    expect(set.size).toBe(0);
    expect([...set]).toEqual([]);
  });

  it('reuses freed slots, so the array stops growing at the peak count', () => {
    const set = new SlotSet<object>();
    const slots = new Set<number>();
    for (let round = 0; round < 1000; round++) {
      const held = [set.add({}), set.add({}), set.add({})];
      for (const s of held) slots.add(s);
      for (const s of held) set.delete(s);
    }
    expect(set.size).toBe(0);
    expect([...slots].sort()).toEqual([0, 1, 2]);
  });

  it('ignores a second delete of a slot, and a slot never given out', () => {
    const set = new SlotSet<object>();
    const first = set.add({});
    set.delete(first);
    set.delete(first);
    set.delete(42);
    expect(set.size).toBe(0);
    // Deleting twice must not hand the same slot to two values.
    const x = {};
    const y = {};
    const sx = set.add(x);
    const sy = set.add(y);
    expect(sx).not.toBe(sy);
    expect([...set]).toEqual(expect.arrayContaining([x, y]));
    expect(set.size).toBe(2);
  });

  it('does not keep a deleted value reachable from its slots', () => {
    const set = new SlotSet<{ id: string }>();
    const slot = set.add({ id: 'gone' });
    set.add({ id: 'kept' });
    set.delete(slot);
    expect((set as unknown as { slots: unknown[] }).slots).not.toContainEqual({ id: 'gone' });
  });
});
