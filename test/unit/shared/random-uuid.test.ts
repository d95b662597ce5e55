import type * as NodeCrypto from 'node:crypto';
import { randomUuid } from '../../../services/shared/random-uuid';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The canonical form of 16 bytes with the version 4 and variant bits set, written the obvious way. */
function canonical(bytes: Buffer): string {
  const b = Buffer.from(bytes);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

describe('randomUuid', () => {
  it('returns version 4 UUIDs in canonical lowercase form', () => {
    for (let i = 0; i < 1000; i++) expect(randomUuid()).toMatch(V4);
  });

  it('never repeats an id across many refills of its random pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(randomUuid());
    expect(ids.size).toBe(20_000);
  });

  it('varies every random digit (all but the version and variant bits)', () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) [...randomUuid()].forEach((c, at) => seen[at]!.add(c));
    const sizes = seen.map((s) => s.size);
    // Dashes, the version digit, and the variant digit (8, 9, a or b) are the only fixed or narrow places.
    sizes.forEach((size, at) => {
      if ([8, 13, 18, 23].includes(at)) expect(size).toBe(1);
      else if (at === 14) expect([...seen[at]!]).toEqual(['4']);
      else if (at === 19) expect(size).toBe(4);
      else expect(size).toBe(16);
    });
  });

  it('formats the CSPRNG bytes it draws, 16 fresh bytes per id', () => {
    jest.isolateModules(() => {
      const draws: Buffer[] = [];
      let next = 0;
      jest.doMock('node:crypto', () => ({
        ...jest.requireActual<typeof NodeCrypto>('node:crypto'),
        randomFillSync: (buf: Buffer) => {
          for (let i = 0; i < buf.length; i++) buf[i] = (next++ * 37) & 0xff;
          draws.push(Buffer.from(buf));
          return buf;
        },
      }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { randomUuid: isolated } = require('../../../services/shared/random-uuid') as {
        randomUuid: () => string;
      };
      const ids = Array.from({ length: 300 }, () => isolated());
      // 256 ids per pool: the 257th id starts a second draw.
      expect(draws).toHaveLength(2);
      const bytes = Buffer.concat(draws);
      ids.forEach((id, i) => expect(id).toBe(canonical(bytes.subarray(16 * i, 16 * i + 16))));
    });
    jest.dontMock('node:crypto');
  });
});
