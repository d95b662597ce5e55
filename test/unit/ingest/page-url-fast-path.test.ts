import { originOfUrl, splitPageUrl } from '../../../services/ingest/src/pipeline/page-url';

/**
 * The hand-read shape of common URLs must say exactly what the WHATWG URL parser says: these tests compare
 * the two over tricky and random inputs.
 */

/** What the URL parser says an origin is. */
function reference(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const { origin } = new URL(url);
  return origin === 'null' ? undefined : origin;
}

/** What the URL parser says of the parts `splitPageUrl` returns (for URLs it parses, as validated ones do). */
function referenceSplit(url: string): unknown {
  const u = new URL(url);
  return {
    base: `${u.origin}${u.pathname}`,
    hasMore: u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '',
    query: u.search === '' ? undefined : [...u.searchParams],
  };
}

function split(url: string): unknown {
  const parts = splitPageUrl(url);
  return { base: parts.base, hasMore: parts.hasMore, query: parts.query && [...parts.query] };
}

/** xorshift32 with a fixed seed: a failure names an input that reproduces. */
function random(): (n: number) => number {
  let seed = 0x2545f491;
  return (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
}

function randomUrl(
  next: (n: number) => number,
  prefixes: readonly string[],
  alphabet: readonly string[],
): string {
  let url = prefixes[next(prefixes.length)]!;
  for (let j = next(28); j > 0; j--) url += alphabet[next(alphabet.length)]!;
  return url;
}

const TRICKY = [
  'https://shop.example/p/1?utm_source=x',
  'https://shop.example',
  'http://shop.example:80/',
  'https://shop.example:443/',
  'https://shop.example:8443/x',
  'https://shop.example:65535/',
  'https://shop.example:65536/',
  'https://shop.example:0443/',
  'https://shop.example:/',
  'https://Shop.Example/',
  'HTTPS://shop.example/',
  ' https://shop.example/',
  'https://sh\top.example/',
  'https://0x7f.1/',
  'https://127.0.0.1/',
  'https://1.2.3.4.example/',
  'https://example.123/',
  'https://a.0x1f/',
  'https://xn--nxasmq6b.example/',
  'https://xn--a.example/',
  'https://user:pw@shop.example/',
  'https://shop.example@evil.example/',
  'https://shop.example\\evil.example/',
  'https://shop.example%2eevil/',
  'https://shop.example./',
  'https://.shop.example/',
  'https://shop..example/',
  'https://-shop.example/',
  'https://shop-.example/',
  'https://ab--cd.example/',
  'https://shop.example?x=1',
  'https://shop.example#top',
  'https://[::1]/',
  'ftp://shop.example/',
  'javascript:alert(1)',
  'data:text/html,x',
  'file:///etc/passwd',
  'blob:https://shop.example/uuid',
  'https:shop.example',
  'https:/shop.example/',
  'https:///shop.example/',
  '//shop.example/',
  'not a url',
  '',
  'https://shop.example/a/./b',
  'https://shop.example/a/../b',
  'https://shop.example/a/..',
  'https://shop.example/.',
  'https://shop.example/a/.b/c..',
  'https://shop.example/p?',
  'https://shop.example/p#',
  'https://shop.example/p?#',
  'https://shop.example/p?utm_source=a+b&utm_medium=%41&x="<>\'',
  'https://shop.example/p#frag?x=1',
  'https://shop.example/p?a=1#b=2',
  'https://shop.example/p?a=%zz&b=%',
  'https://shop.example/p\tq',
  'https://shop.example/p q',
  'https://shop.example/%7Euser',
  'https://shop.example/ü',
];

describe('originOfUrl', () => {
  it.each(TRICKY)('agrees with the URL parser on %j', (url) => {
    expect(originOfUrl(url)).toBe(reference(url));
  });

  it('agrees with the URL parser on 20,000 random URLs over the characters that matter', () => {
    const alphabet = [
      'a',
      'z',
      '0',
      '9',
      'x',
      '-',
      '.',
      ':',
      '/',
      '?',
      '#',
      '@',
      '%',
      '\\',
      'A',
      ' ',
      '\t',
      'xn--',
      '[',
      ']',
    ];
    const prefixes = ['https://', 'http://', 'HTTP://', 'https:', 'wss://', ''];
    const next = random();
    for (let i = 0; i < 20_000; i++) {
      const url = randomUrl(next, prefixes, alphabet);
      expect([url, originOfUrl(url)]).toEqual([url, reference(url)]);
    }
  });
});

describe('splitPageUrl', () => {
  it.each(TRICKY.filter((url) => URL.canParse(url) && /^https?:/i.test(url)))(
    'agrees with the URL parser on %j',
    (url) => {
      expect(split(url)).toEqual(referenceSplit(url));
    },
  );

  it('agrees with the URL parser on 20,000 random page URLs', () => {
    const alphabet = [
      'a',
      'q',
      '0',
      '7',
      '-',
      '.',
      '..',
      '/',
      '?',
      '#',
      '=',
      '&',
      '+',
      '%',
      '%41',
      '"',
      "'",
      '<',
      ':',
      '~',
      '_',
      '\t',
      'é',
      'xn--',
    ];
    const prefixes = [
      'https://shop.example',
      'http://a.b:80',
      'https://x.y:8443',
      'https://127.0.0.1',
      'https://',
    ];
    const next = random();
    let compared = 0;
    for (let i = 0; i < 20_000; i++) {
      const url = randomUrl(next, prefixes, alphabet);
      if (!URL.canParse(url)) continue;
      compared++;
      expect([url, split(url)]).toEqual([url, referenceSplit(url)]);
    }
    // Enough random inputs must parse, or the comparison says little.
    expect(compared).toBeGreaterThan(5_000);
  });
});
