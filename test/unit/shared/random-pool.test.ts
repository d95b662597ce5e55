import type * as NodeCrypto from 'node:crypto';

/** The module under a `randomFillSync` that writes a running counter, so every byte drawn is traceable. */
function withCountingCsprng(): {
  takeRandomBytes: (target: Uint8Array, offset: number, length: number) => void;
  draws: () => number;
} {
  let draws = 0;
  let next = 0;
  let mod: { takeRandomBytes: (target: Uint8Array, offset: number, length: number) => void } | undefined;
  jest.isolateModules(() => {
    jest.doMock('node:crypto', () => ({
      ...jest.requireActual<typeof NodeCrypto>('node:crypto'),
      randomFillSync: (buf: Buffer) => {
        draws++;
        for (let i = 0; i < buf.length; i += 2) buf.writeUInt16BE(next++ & 0xffff, i);
        return buf;
      },
    }));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../../../services/shared/random-pool') as typeof mod;
  });
  jest.dontMock('node:crypto');
  return { takeRandomBytes: mod!.takeRandomBytes, draws: () => draws };
}

describe('takeRandomBytes', () => {
  it('hands out every drawn byte once, in order, across refills', () => {
    const { takeRandomBytes, draws } = withCountingCsprng();
    const out = Buffer.alloc(4096 * 3);
    for (let at = 0; at < out.length; at += 16) takeRandomBytes(out, at, 16);
    expect(draws()).toBe(3);
    for (let i = 0; i < out.length; i += 2) expect(out.readUInt16BE(i)).toBe(i / 2);
  });

  it('skips a remainder too short for a request instead of splicing it with the next draw', () => {
    const { takeRandomBytes, draws } = withCountingCsprng();
    const ivs = Buffer.alloc(12 * 342);
    for (let i = 0; i < 342; i++) takeRandomBytes(ivs, 12 * i, 12);
    // 341 IVs fit in 4,096 bytes; the 342nd comes whole from the second draw, which starts at 2,048.
    expect(draws()).toBe(2);
    expect(ivs.readUInt16BE(12 * 341)).toBe(2048);
  });

  it('writes at the offset it is given and nowhere else', () => {
    const { takeRandomBytes } = withCountingCsprng();
    const target = Buffer.alloc(32, 0xee);
    takeRandomBytes(target, 8, 12);
    expect([...target.subarray(0, 8)]).toEqual(Array(8).fill(0xee));
    expect([...target.subarray(20)]).toEqual(Array(12).fill(0xee));
    expect(target.readUInt16BE(8)).toBe(0);
  });

  it('refuses more than one pool at a time', () => {
    const { takeRandomBytes } = withCountingCsprng();
    expect(() => takeRandomBytes(Buffer.alloc(5000), 0, 4097)).toThrow(/at most 4096 random bytes/);
  });
});
