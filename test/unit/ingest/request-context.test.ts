import type { IncomingMessage } from 'node:http';
import {
  clientIpOf,
  countryOf,
  fromCdn,
  withholdsConsent,
} from '../../../services/ingest/src/http/request-context';

const req = (headers: Record<string, string>, remoteAddress = '10.1.2.3') =>
  ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('consent', () => {
  test.each([
    [{ dnt: '1' }, true],
    [{ 'sec-gpc': '1' }, true],
    [{ cookie: 'a=b; ts_optout=1' }, true],
    [{ cookie: 'ts_optout=1' }, true],
    // RFC 6265 allows a quoted value; spaces around the separator are common.
    [{ cookie: 'ts_optout="1"' }, true],
    [{ cookie: 'a=b;ts_optout="1"; c=d' }, true],
    [{ cookie: 'a=b ;  ts_optout = 1' }, true],
    [{ cookie: 'ts_optout="0"' }, false],
    [{ cookie: 'ts_optout=0' }, false],
    [{ cookie: 'xts_optout=1' }, false],
    [{ dnt: '0' }, false],
    [{}, false],
  ])('%p withholds consent: %p', (headers, expected) => {
    expect(withholdsConsent(req(headers))).toBe(expected);
  });
});

describe('client address', () => {
  test('x-forwarded-for is ignored unless behind the CDN', () => {
    expect(clientIpOf(req({ 'x-forwarded-for': '1.2.3.4' }), 'none')).toBe('10.1.2.3');
    expect(clientIpOf(req({ 'cloudfront-viewer-address': '[2001:db8::1]:443' }), 'cloudfront')).toBe(
      '2001:db8::1',
    );
    expect(clientIpOf(req({ 'cloudfront-viewer-address': '198.51.100.10:46532' }), 'cloudfront')).toBe(
      '198.51.100.10',
    );
    expect(countryOf(req({ 'cloudfront-viewer-country': 'DE' }), 'cloudfront')).toBe('DE');
    expect(countryOf(req({ 'cloudfront-viewer-country': 'DE' }), 'none')).toBeUndefined();
  });

  test('behind CloudFront, a forged leftmost X-Forwarded-For entry or geo header decides nothing', () => {
    // The viewer header wins over anything the client wrote into the forwarded list.
    const forged = { 'x-forwarded-for': '6.6.6.6', 'cloudfront-viewer-address': '198.51.100.10:1234' };
    expect(clientIpOf(req(forged), 'cloudfront')).toBe('198.51.100.10');
    // Without the viewer header, the rightmost hop (what the last proxy appended), never the leftmost.
    expect(clientIpOf(req({ 'x-forwarded-for': '6.6.6.6, 203.0.113.9' }), 'cloudfront')).toBe('203.0.113.9');
    // Another cloud's geo header is not CloudFront's, whatever it says.
    expect(countryOf(req({ 'x-client-geo-country': 'KP' }), 'cloudfront')).toBeUndefined();
  });

  test('behind the Google load balancer, the entry it appended before its own address is the client', () => {
    const lb = '34.120.0.1';
    expect(clientIpOf(req({ 'x-forwarded-for': `6.6.6.6, 198.51.100.7, ${lb}` }), 'google-lb')).toBe(
      '198.51.100.7',
    );
    expect(clientIpOf(req({ 'x-forwarded-for': `198.51.100.7, ${lb}` }), 'google-lb')).toBe('198.51.100.7');
    expect(countryOf(req({ 'x-client-geo-country': 'FR' }), 'google-lb')).toBe('FR');
    expect(countryOf(req({ 'cloudfront-viewer-country': 'KP' }), 'google-lb')).toBeUndefined();
  });

  test('the origin secret is required when configured', () => {
    const secret = 's'.repeat(32);
    expect(fromCdn(req({}), undefined)).toBe(true);
    expect(fromCdn(req({}), secret)).toBe(false);
    expect(fromCdn(req({ 'x-origin-verify': 'wrong' }), secret)).toBe(false);
    expect(fromCdn(req({ 'x-origin-verify': secret }), secret)).toBe(true);
  });
});
