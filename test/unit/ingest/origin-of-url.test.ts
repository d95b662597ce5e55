import { originOfUrl } from '../../../services/ingest/src/http/request-context';

/** What the URL parser says: the reference the fast path must agree with. */
function reference(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const { origin } = new URL(url);
  return origin === 'null' ? undefined : origin;
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
    // A fixed seed: a failure names an input that reproduces.
    let seed = 0x2545f491;
    const next = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    for (let i = 0; i < 20_000; i++) {
      let url = prefixes[next(prefixes.length)]!;
      for (let j = next(24); j > 0; j--) url += alphabet[next(alphabet.length)]!;
      expect([url, originOfUrl(url)]).toEqual([url, reference(url)]);
    }
  });
});
