import type { IncomingMessage } from 'node:http';
import {
  clientIpOf,
  countryOf,
  fromCdn,
  withholdsConsent,
} from '../../services/ingest/src/http/request-context';

const req = (headers: Record<string, string>, remoteAddress = '10.1.2.3') =>
  ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;

describe('consent', () => {
  test.each([
    [{ dnt: '1' }, true],
    [{ 'sec-gpc': '1' }, true],
    [{ cookie: 'a=b; ts_optout=1' }, true],
    [{ cookie: 'ts_optout=1' }, true],
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
    expect(clientIpOf(req({ 'x-forwarded-for': '1.2.3.4' }), false)).toBe('10.1.2.3');
    expect(clientIpOf(req({ 'x-forwarded-for': '1.2.3.4, 10.0.0.1' }), true)).toBe('1.2.3.4');
    expect(clientIpOf(req({ 'cloudfront-viewer-address': '[2001:db8::1]:443' }), true)).toBe('2001:db8::1');
    expect(countryOf(req({ 'cloudfront-viewer-country': 'DE' }), true)).toBe('DE');
    expect(countryOf(req({ 'cloudfront-viewer-country': 'DE' }), false)).toBeUndefined();
  });

  test('the origin secret is required when configured', () => {
    const secret = 's'.repeat(32);
    expect(fromCdn(req({}), undefined)).toBe(true);
    expect(fromCdn(req({}), secret)).toBe(false);
    expect(fromCdn(req({ 'x-origin-verify': 'wrong' }), secret)).toBe(false);
    expect(fromCdn(req({ 'x-origin-verify': secret }), secret)).toBe(true);
  });
});
