/**
 * The edge routing function, executed in node from the very code string the edge stack puts into the
 * template (routerFunctionCode), over a table of viewers: each continent, regions marked down, resident
 * accounts, revoked keys, malformed hits and the health check's path. Prints the routing table and the
 * code's size.
 */
import {
  CLOUDFRONT_FUNCTION_MAX_BYTES,
  RouterCodeTooLargeError,
  routerFunctionCode,
} from '../../../../infra/aws/lib/edge/router-code';
import {
  COUNTRY_LOCATIONS,
  EDGE_STORE,
  FAILOVER_ORDER,
  LOCATIONS,
  edgeHealthPath,
  edgeOriginId,
  locationOfCountry,
  type Location,
} from '../../../../platform';
import {
  isFunctionResponse,
  responseBody,
  runCloudFrontFunction,
  viewerRequestEvent,
  type FunctionRun,
} from '../../../../tooling/cloudfront-function';

const ACC = 'acc_visitor001';
const RESIDENT_EU = 'acc_residenteu01'; // home europe in the stage configuration
const RESIDENT_APAC = 'acc_residentap01'; // home apac in the store only
const KEY_ID = 'k3yrevoked000001';
const REVOKED_KEY = `tsk_${KEY_ID}_${'A'.repeat(40)}`;
const GOOD_KEY = `tsk_k3ygood000000001_${'B'.repeat(40)}`;

const ALL = routerFunctionCode({ locations: LOCATIONS, homeLocations: { [RESIDENT_EU]: 'europe' } });
const TWO = routerFunctionCode({ locations: ['americas', 'europe'] });
const DEV = routerFunctionCode({ locations: ['americas'] });

interface Case {
  readonly name: string;
  readonly code?: string;
  readonly country?: string;
  readonly down?: readonly Location[];
  readonly account?: string | readonly string[] | null;
  /** Home in the store (`home:<account>`). */
  readonly storeHome?: Location;
  readonly uri?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly failKvs?: boolean;
  /** The origin's location, or the status the edge answers. */
  readonly expect: Location | 400 | 401;
}

const CASES: readonly Case[] = [
  { name: 'north america', country: 'US', expect: 'americas' },
  { name: 'south america', country: 'BR', expect: 'americas' },
  { name: 'central america', country: 'MX', expect: 'americas' },
  { name: 'caribbean', country: 'JM', expect: 'americas' },
  { name: 'europe', country: 'DE', expect: 'europe' },
  { name: 'europe (uk)', country: 'GB', expect: 'europe' },
  { name: 'africa', country: 'ZA', expect: 'europe' },
  { name: 'middle east', country: 'AE', expect: 'europe' },
  { name: 'india', country: 'IN', expect: 'apac' },
  { name: 'east asia', country: 'JP', expect: 'apac' },
  { name: 'south-east asia', country: 'SG', expect: 'apac' },
  { name: 'oceania', country: 'AU', expect: 'apac' },
  { name: 'unknown country', country: 'ZZ', expect: 'americas' },
  { name: 'no country header', expect: 'americas' },
  { name: 'nearest down', country: 'DE', down: ['europe'], expect: 'americas' },
  { name: 'nearest down (apac)', country: 'JP', down: ['apac'], expect: 'europe' },
  { name: 'two down', country: 'JP', down: ['apac', 'europe'], expect: 'americas' },
  { name: 'all down', country: 'JP', down: ['apac', 'europe', 'americas'], expect: 'apac' },
  { name: 'another region down', country: 'US', down: ['europe'], expect: 'americas' },
  { name: 'resident (config) abroad', country: 'US', account: RESIDENT_EU, expect: 'europe' },
  { name: 'resident, home down', country: 'US', account: RESIDENT_EU, down: ['europe'], expect: 'europe' },
  {
    name: 'config beats store home',
    country: 'US',
    account: RESIDENT_EU,
    storeHome: 'apac',
    expect: 'europe',
  },
  {
    name: 'resident (store) abroad',
    country: 'DE',
    account: RESIDENT_APAC,
    storeHome: 'apac',
    expect: 'apac',
  },
  {
    name: 'resident (store), home down',
    country: 'DE',
    account: RESIDENT_APAC,
    storeHome: 'apac',
    down: ['apac'],
    expect: 'apac',
  },
  {
    name: 'revoked key: x-api-key',
    country: 'US',
    uri: '/postback',
    headers: { 'x-api-key': REVOKED_KEY },
    expect: 401,
  },
  {
    name: 'revoked key: Bearer',
    country: 'US',
    uri: '/postback',
    headers: { authorization: `Bearer ${REVOKED_KEY}` },
    expect: 401,
  },
  {
    name: 'revoked key: key param',
    country: 'US',
    uri: '/postback',
    query: { key: REVOKED_KEY },
    expect: 401,
  },
  {
    name: 'valid key',
    country: 'DE',
    uri: '/postback',
    headers: { 'x-api-key': GOOD_KEY },
    expect: 'europe',
  },
  { name: 'malformed a', country: 'US', account: 'ACC_NOPE', expect: 400 },
  { name: 'missing a', country: 'US', account: null, expect: 400 },
  { name: 'a given twice', country: 'US', account: [ACC, 'acc_otheracct01'], expect: 400 },
  { name: 'store unreadable', country: 'DE', failKvs: true, down: ['europe'], expect: 'europe' },
  { name: 'two locations: apac viewer', code: TWO, country: 'JP', expect: 'europe' },
  { name: 'two locations: europe down', code: TWO, country: 'JP', down: ['europe'], expect: 'americas' },
  {
    name: 'two locations: store home apac',
    code: TWO,
    country: 'DE',
    account: RESIDENT_APAC,
    storeHome: 'apac',
    expect: 'europe',
  },
  { name: 'dev (one location)', code: DEV, country: 'DE', down: ['americas'], expect: 'americas' },
];

function storeOf(c: Case): Record<string, string> {
  const kvs: Record<string, string> = { [EDGE_STORE.revokedKey(KEY_ID)]: '2025-01-01T00:00:00.000Z' };
  if (c.down) kvs[EDGE_STORE.downKey] = c.down.join(',');
  if (c.storeHome && typeof c.account === 'string') kvs[EDGE_STORE.homeKey(c.account)] = c.storeHome;
  return kvs;
}

async function run(c: Case): Promise<FunctionRun> {
  const query: Record<string, string | readonly string[]> = { ...c.query };
  if (c.account !== null) query.a = c.account ?? ACC;
  const headers: Record<string, string> = { ...c.headers };
  if (c.country) headers['cloudfront-viewer-country'] = c.country;
  return runCloudFrontFunction(
    c.code ?? ALL,
    viewerRequestEvent({ uri: c.uri ?? '/p.gif', query, headers }),
    {
      kvs: storeOf(c),
      failKvs: c.failKvs,
    },
  );
}

function outcome(r: FunctionRun): string {
  return isFunctionResponse(r.result) ? String(r.result.statusCode) : (r.originId ?? '(none)');
}

describe('the platform country table', () => {
  it('places every country once, and fails each location over to all the others', () => {
    const codes = LOCATIONS.flatMap((l) => COUNTRY_LOCATIONS[l].split(' '));
    expect(codes.every((c) => /^[A-Z]{2}$/.test(c))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
    // The 249 ISO 3166-1 alpha-2 codes, and Kosovo's XK.
    expect(codes).toHaveLength(250);
    for (const l of LOCATIONS)
      expect([...FAILOVER_ORDER[l]].sort()).toEqual(LOCATIONS.filter((o) => o !== l).sort());
    expect(locationOfCountry('in')).toBe('apac');
    expect(locationOfCountry(undefined)).toBe('americas');
  });
});

describe('edge routing function', () => {
  it('routes every viewer of the table as expected, and prints the routing table', async () => {
    const rows: string[][] = [];
    for (const c of CASES) {
      const r = await run(c);
      const expected = typeof c.expect === 'number' ? String(c.expect) : edgeOriginId(c.expect);
      const homes = [
        ...((c.code ?? ALL) === ALL && c.account === RESIDENT_EU ? ['europe (config)'] : []),
        ...(c.storeHome ? [`${c.storeHome} (store)`] : []),
      ];
      const home = homes.join(', ');
      rows.push([c.name, c.country ?? '-', c.down?.join(',') ?? '', home, outcome(r)]);
      expect({ case: c.name, got: outcome(r) }).toEqual({ case: c.name, got: expected });
    }
    const header = ['case', 'country', 'down', 'account home', '→ origin/response'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    console.log(
      [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') +
        `\n\nrouting function: ${Buffer.byteLength(ALL)} bytes (3 locations, 1 home in the stage config), ` +
        `${Buffer.byteLength(routerFunctionCode({ locations: LOCATIONS }))} bytes (3 locations, no homes), ` +
        `${Buffer.byteLength(DEV)} bytes (dev: americas only); limit ${CLOUDFRONT_FUNCTION_MAX_BYTES}`,
    );
  });

  it('agrees with the platform table for every country it embeds', async () => {
    for (const country of ['CA', 'AR', 'FR', 'EG', 'SA', 'TR', 'RU', 'PK', 'CN', 'NZ', 'KZ']) {
      const r = await run({ name: country, country, expect: 'americas' });
      expect({ country, origin: r.originId }).toEqual({
        country,
        origin: edgeOriginId(locationOfCountry(country)),
      });
    }
  });

  it('answers bad hits and revoked keys with JSON that no cache keeps', async () => {
    const bad = await run({ name: 'bad', account: 'acc_UPPER1234', expect: 400 });
    expect(isFunctionResponse(bad.result) && bad.result.headers).toEqual({
      'content-type': { value: 'application/json' },
      'cache-control': { value: 'no-store' },
    });
    expect(JSON.parse(responseBody(bad.result)!)).toMatchObject({ error: 'bad_request', field: 'a' });
    expect(bad.reads).toEqual([]);

    const revoked = await run({
      name: 'r',
      uri: '/postback',
      headers: { 'x-api-key': REVOKED_KEY },
      expect: 401,
    });
    expect(JSON.parse(responseBody(revoked.result)!)).toEqual({
      error: 'unauthorized',
      message: 'this API key has been revoked',
    });
    expect(revoked.originId).toBeUndefined();
  });

  it('moves a Bearer key to x-api-key (origin access control overwrites Authorization)', async () => {
    const r = await run({
      name: 'b',
      uri: '/postback',
      headers: { authorization: `Bearer ${GOOD_KEY}` },
      expect: 'americas',
    });
    expect(isFunctionResponse(r.result)).toBe(false);
    const headers = (r.result as { headers: Record<string, { value: string }> }).headers;
    expect(headers['x-api-key']).toEqual({ value: GOOD_KEY });
    expect(headers.authorization).toBeUndefined();
    expect(r.reads).toContain(EDGE_STORE.revokedKey('k3ygood000000001'));
  });

  it("passes the health check's probe to the location it names, without reading the store", async () => {
    for (const location of LOCATIONS) {
      const r = await runCloudFrontFunction(
        ALL,
        viewerRequestEvent({ uri: edgeHealthPath(location), headers: { 'cloudfront-viewer-country': 'JP' } }),
        { kvs: { [EDGE_STORE.downKey]: LOCATIONS.join(',') } },
      );
      expect(r.originId).toBe(edgeOriginId(location));
      expect((r.result as { uri: string }).uri).toBe('/readyz');
      expect(r.reads).toEqual([]);
    }
    // A location the stage does not deploy has no health path: it is an ordinary (here malformed) hit.
    const r = await runCloudFrontFunction(TWO, viewerRequestEvent({ uri: edgeHealthPath('apac') }), {
      kvs: {},
    });
    expect(outcome(r)).toBe('400');
  });

  it('stays under 10 KB, and refuses a configuration that would not', () => {
    expect(Buffer.byteLength(ALL)).toBeLessThan(CLOUDFRONT_FUNCTION_MAX_BYTES);
    const many = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`acc_${String(i).padStart(24, '0')}`, 'europe' as Location]),
    );
    expect(() => routerFunctionCode({ locations: LOCATIONS, homeLocations: many })).toThrow(
      RouterCodeTooLargeError,
    );
    expect(() => routerFunctionCode({ locations: LOCATIONS, homeLocations: many })).toThrow(
      /over CloudFront's limit of 10240: the stage configuration embeds 400 home location/,
    );
  });

  it('refuses locations and homes it cannot serve', () => {
    expect(() => routerFunctionCode({ locations: [] })).toThrow(/at least one location/);
    expect(() => routerFunctionCode({ locations: ['europe', 'europe'] })).toThrow(/twice/);
    expect(() => routerFunctionCode({ locations: ['mars' as Location] })).toThrow(/"mars" is not one of/);
    expect(() =>
      routerFunctionCode({ locations: ['americas'], homeLocations: { [RESIDENT_EU]: 'europe' } }),
    ).toThrow(/acc_residenteu01 → "europe" is not a deployed location/);
    expect(() => routerFunctionCode({ locations: LOCATIONS, homeLocations: { nope: 'europe' } })).toThrow(
      /"nope" is not an account id/,
    );
  });

  it('is generated deterministically and starts with the cloudfront import', () => {
    const a = routerFunctionCode({
      locations: LOCATIONS,
      homeLocations: { acc_bbbbbbbb: 'apac', acc_aaaaaaaa: 'europe' },
    });
    const b = routerFunctionCode({
      locations: LOCATIONS,
      homeLocations: { acc_aaaaaaaa: 'europe', acc_bbbbbbbb: 'apac' },
    });
    expect(a).toBe(b);
    expect(a.split('\n')[0]).toBe("import cf from 'cloudfront';");
    expect(a).toMatch(/^async function handler\(event\) \{$/m);
  });
});
