import { observeGc } from '../../../bench/servers/gc-totals';

describe('observeGc', () => {
  it('counts the young collections that garbage causes, with their pause time', async () => {
    const read = observeGc();
    const before = read();
    // About 200 MB of short-lived arrays: many times the young generation, so scavenges must run.
    let sink = 0;
    for (let i = 0; i < 200_000; i++) sink += new Array(128).fill(i).length;
    expect(sink).toBe(200_000 * 128);
    await new Promise((r) => setImmediate(r));
    const after = read();
    expect(after.gcMinor).toBeGreaterThan(before.gcMinor);
    expect(after.gcMinorMs).toBeGreaterThan(before.gcMinorMs);
    expect(after.gcMajor).toBeGreaterThanOrEqual(before.gcMajor);
  });
});
