/**
 * The stage options of the edge (custom domain and TLS, home locations, WAF limits): defaults, and the
 * messages that name each bad key.
 */
import { ConfigError, MAX_STAGE_HOME_LOCATIONS, type StageConfig } from '../../../../platform';
import { readStageConfig, STAGES_CONTEXT_KEY } from '../../../../infra/aws/lib/stage-context';

const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const ROOT = `${STAGES_CONTEXT_KEY}.dev`;

function read(dev: Record<string, unknown>): StageConfig {
  const context: Record<string, unknown> = { stage: 'dev', [STAGES_CONTEXT_KEY]: { dev } };
  return readStageConfig({ tryGetContext: (key) => context[key] });
}

function issues(dev: Record<string, unknown>): readonly string[] {
  try {
    read(dev);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('edge stage options', () => {
  test('the WAF limits default to 2,000 per IP and 60,000 per API key; nothing else is required', () => {
    const config = read({});
    expect(config.wafIpRequestsPer5Min).toBe(2000);
    expect(config.wafApiKeyRequestsPer5Min).toBe(60_000);
    expect(config.domainName).toBeUndefined();
    expect(config.homeLocations).toBeUndefined();
  });

  test('WAF limits under 100 or fractional are refused, naming the key', () => {
    expect(issues({ wafIpRequestsPer5Min: 99, wafApiKeyRequestsPer5Min: 1.5 })).toEqual([
      `${ROOT}.wafIpRequestsPer5Min: must be at least 100 requests per 5 minutes`,
      `${ROOT}.wafApiKeyRequestsPer5Min: must be a whole number of requests per 5 minutes`,
    ]);
  });

  test('a domain with a certificate in us-east-1, or with a hosted zone, is accepted', () => {
    expect(read({ domainName: 't.example.com', certificateArn: CERTIFICATE }).certificateArn).toBe(
      CERTIFICATE,
    );
    expect(read({ domainName: 't.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' }).hostedZoneId).toBe(
      'Z0123456789ABCDEFGHIJ',
    );
  });

  test('a domain with neither a certificate nor a zone is refused, saying what it needs', () => {
    expect(issues({ domainName: 't.example.com' })).toEqual([
      `${ROOT}.domainName: requires certificateArn (an ACM certificate in us-east-1) or hostedZoneId (to request one validated through DNS)`,
    ]);
  });

  test('a certificate or a zone without a domain is refused', () => {
    expect(issues({ certificateArn: CERTIFICATE, hostedZoneId: 'Z0123' })).toEqual([
      `${ROOT}.certificateArn: requires domainName (the certificate is for the custom domain)`,
      `${ROOT}.hostedZoneId: requires domainName (the zone holds the custom domain)`,
    ]);
  });

  test('a certificate outside us-east-1 and a malformed zone id are refused, naming the key', () => {
    const found = issues({
      domainName: 't.example.com',
      certificateArn: CERTIFICATE.replace('us-east-1', 'eu-west-1'),
      hostedZoneId: 'zone-1',
    });
    expect(found).toEqual([
      `${ROOT}.certificateArn: must be the ARN of an ACM certificate in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>)`,
      `${ROOT}.hostedZoneId: must be a Route 53 hosted zone id (Z followed by letters and digits)`,
    ]);
  });

  test('home locations map account ids to the stage’s locations', () => {
    const config = read({ locations: ['europe', 'americas'], homeLocations: { acc_12345678: 'europe' } });
    expect(config.homeLocations).toEqual({ acc_12345678: 'europe' });
  });

  test('a home location outside the stage’s locations is refused, naming the account', () => {
    expect(issues({ locations: ['americas'], homeLocations: { acc_12345678: 'europe' } })).toEqual([
      `${ROOT}.homeLocations.acc_12345678: must be one of the stage's locations (americas); got "europe"`,
    ]);
  });

  test('a malformed account id or an unknown location is refused, naming the key', () => {
    const found = issues({ homeLocations: { acc_12345678: 'mars' } });
    expect(found).toEqual([`${ROOT}.homeLocations.acc_12345678: must be one of americas, europe, apac`]);
    expect(issues({ homeLocations: { 'ACC-1': 'europe' } })).toEqual([
      `${ROOT}.homeLocations.ACC-1: must be keyed by an account id (acc_ and 8 to 32 lowercase letters or digits)`,
    ]);
  });

  test(`more than ${MAX_STAGE_HOME_LOCATIONS} home locations are refused`, () => {
    const homes = Object.fromEntries(
      Array.from({ length: MAX_STAGE_HOME_LOCATIONS + 1 }, (_, i) => [
        `acc_${String(i).padStart(8, '0')}`,
        'europe',
      ]),
    );
    expect(issues({ homeLocations: homes })).toEqual([
      `${ROOT}.homeLocations: must hold at most ${MAX_STAGE_HOME_LOCATIONS} accounts (the routing function's size limit); give the others a home location in the directory`,
    ]);
  });
});
