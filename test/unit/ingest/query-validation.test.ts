/**
 * The pixel's hand-written query validator against the schema of record: on every query of the corpus it
 * must give exactly what `parseQueryEvent(new URLSearchParams(query))` gives, the value of a good hit and
 * the issues of a bad one.
 */
import { parsePixelQuery } from '../../../services/ingest/src/pipeline/query-validation';
import { parseQueryEvent } from '../../../services/ingest/src/pipeline/validation';

const NOW = Date.UTC(2026, 11, 3, 12);
const BASE = 'a=acc_12345678&c=cmp_spring';

const GOOD = [
  BASE,
  `${BASE}&e=impression`,
  `${BASE}&e=conversion&cid=abc.123_~:-&oid=order-1&v=19.99&cur=EUR`,
  `${BASE}&u=https%3A%2F%2Fshop.example%2Fp%2F1%3Futm_source%3Dx&r=http%3A%2F%2Fref.example%2F`,
  `${BASE}&u=https://shop.example/p?x=1`,
  `${BASE}&n=signup&e=custom`,
  `${BASE}&ts=${NOW - 1000}`,
  `${BASE}&ts=${NOW + 10_000}`,
  `${BASE}&v=0`,
  `${BASE}&v=-0`,
  `${BASE}&v=1000000000`,
  `${BASE}&cb=123&_=456&unknown=%ZZ`,
  `${BASE}&&&cb`,
  `c=cmp_spring&a=acc_12345678`,
  `%61=acc_12345678&%63=cmp_spring`,
  `${BASE}&n=${'x'.repeat(64)}`,
  `${BASE}&cid=${'y'.repeat(128)}`,
  `${BASE}&u=HTTPS%3A%2F%2FSHOP.EXAMPLE%2F`,
  `${BASE}&u=https%3A%2F%2Fsh%C3%B6p.example%2F%C3%A9`,
  // Invalid UTF-8 becomes U+FFFD in URLSearchParams, which a URL may hold.
  `${BASE}&u=https%3A%2F%2Fx.example%2F%FF`,
  // Named like object-prototype members: unknown parameters, ignored (the fast path hands them to zod's).
  `${BASE}&__proto__=x`,
  `${BASE}&toString=x`,
  `${BASE}&constructor=x`,
];

const BAD = [
  '',
  'a=acc_12345678',
  'c=cmp_spring',
  'a=ACC_12345678&c=cmp_spring',
  'a=acc_1234567&c=cmp_spring',
  'a=acc_12345678&c=cmp_sp',
  `${BASE}&a=acc_87654321`,
  `${BASE}&e=purchase`,
  `${BASE}&e=`,
  `${BASE}&n=`,
  `${BASE}&n`,
  `${BASE}&n=sign up`,
  `${BASE}&n=sign+up`,
  `${BASE}&n=${'x'.repeat(65)}`,
  `${BASE}&cid=${'y'.repeat(129)}`,
  `${BASE}&cid=a%2Fb`,
  `${BASE}&u=ftp%3A%2F%2Fx.example%2F`,
  `${BASE}&u=https%3A%2F%2Fa%20b.example%2F`,
  `${BASE}&u=https%3A%2F%2F`,
  `${BASE}&u=https%3A%2F%2F[%2F`,
  `${BASE}&u=https%3A%2F%2Fx.example%2F${'p'.repeat(2048)}`,
  `${BASE}&r=javascript:alert(1)`,
  `${BASE}&ts=abc`,
  `${BASE}&ts=1.5`,
  `${BASE}&ts=-5`,
  `${BASE}&ts=0`,
  `${BASE}&ts=${NOW - 400 * 86_400_000}`,
  `${BASE}&ts=${NOW + 3_600_000}`,
  `${BASE}&ts=1${'0'.repeat(400)}`,
  `${BASE}&v=-1`,
  `${BASE}&v=1000000001`,
  `${BASE}&v=1e3`,
  `${BASE}&v=1${'0'.repeat(400)}`,
  `${BASE}&v=%2B5`,
  `${BASE}&cur=eur`,
  `${BASE}&cur=EURO`,
  `${BASE}&n=%E0%A4%A`,
  `${BASE}&n=%FF`,
  `${BASE}&n=\ud800`,
  `a=acc_12345678%00&c=cmp_spring`,
];

describe.each([...GOOD.map((q) => ['good', q]), ...BAD.map((q) => ['bad', q])])('%s query %s', (kind, q) => {
  test('gives what the zod schema gives', () => {
    const expected = parseQueryEvent(new URLSearchParams(q), NOW);
    expect(parsePixelQuery(q, NOW)).toStrictEqual(expected);
    expect(expected.ok).toBe(kind === 'good');
  });
});

test('agrees with the schema on queries assembled at random from good and bad pieces', () => {
  const pieces = [
    'a=acc_12345678',
    'a=acc_x',
    'c=cmp_spring',
    'c=cmp_',
    'e=click',
    'e=nope',
    'n=ok',
    'n=no%20way',
    'u=https%3A%2F%2Fs.example%2Fa%3Fb%3Dc',
    'u=%zz',
    'r=http%3A%2F%2Fr.example',
    `ts=${NOW}`,
    'ts=1',
    'cid=k',
    'oid=o+1',
    'v=2.50',
    'v=x',
    'cur=USD',
    'cur=usd',
    'cb=1',
    '',
    '=',
    'a',
  ];
  // A fixed-seed generator, so a failure reproduces.
  let seed = 14;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  let accepted = 0;
  for (let i = 0; i < 2_000; i++) {
    const parts: string[] = [];
    const count = 1 + Math.floor(next() * 7);
    for (let j = 0; j < count; j++) parts.push(pieces[Math.floor(next() * pieces.length)] ?? '');
    // Most queries start with a good account and campaign, so that the other fields decide.
    const q = (next() < 0.7 ? `${BASE}&` : '') + parts.join('&');
    const expected = parseQueryEvent(new URLSearchParams(q), NOW);
    expect({ q, r: parsePixelQuery(q, NOW) }).toStrictEqual({ q, r: expected });
    if (expected.ok) accepted += 1;
  }
  // The corpus exercises both outcomes.
  expect(accepted).toBeGreaterThan(20);
});
