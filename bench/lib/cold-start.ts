/**
 * Cold starts of a built bundle, each in a fresh `node` process with no loader and none of this process's
 * `TS_*` variables: the time to `require` the bundle (what every cold start pays before the handler runs)
 * and, for the ingest bundles, the time to answer a first pixel hit (the runtime is built then: key file,
 * directory, sink). The probe is plain JavaScript given to `node -e`, so nothing of the bench's own
 * tooling (tsx) is loaded into the measured process.
 */
import { spawnSync } from 'node:child_process';
import { DEMO_ACCOUNT_ID, DEMO_CAMPAIGN_ID } from '../../services/ingest/src/local/seed';
import { BROWSER_USER_AGENT } from '../../tooling/user-agent';

/** How a probe sends the first request: none, a Lambda invocation, or HTTP to a Cloud Functions handler. */
export type FirstRequest = 'none' | 'lambda-function-url' | 'gcf-http';

/** What one probe measured. */
export interface ColdStart {
  readonly requireMs: number;
  /** From the first request sent to its answer; absent when the probe sends none. */
  readonly firstRequestMs?: number;
  /** Status of the first answer. */
  readonly firstStatus?: number;
}

/** The query of the probes' first pixel hit. */
export const COLD_PIXEL_QUERY = `a=${DEMO_ACCOUNT_ID}&c=${DEMO_CAMPAIGN_ID}&e=impression&u=https%3A%2F%2Fshop.example%2F`;

/** A Lambda Function URL (payload 2.0) event for `GET <path>?<query>`, as the URL sends it behind the CDN. */
export function functionUrlEvent(path: string, query: string, now = Date.now()): Record<string, unknown> {
  const host = 'bench.lambda-url.eu-west-1.on.aws';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    headers: { 'user-agent': BROWSER_USER_AGENT, host },
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      domainName: host,
      domainPrefix: 'bench',
      http: {
        method: 'GET',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.9',
        userAgent: BROWSER_USER_AGENT,
      },
      requestId: 'bench-cold-start',
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
}

/** The `node -e` script of a probe: requires `file`, sends the first request, prints a {@link ColdStart}. */
export function probeScript(file: string, first: FirstRequest): string {
  const lines = [
    `const { performance } = require('node:perf_hooks');`,
    `const t0 = performance.now();`,
    `const m = require(${JSON.stringify(file)});`,
    `const requireMs = performance.now() - t0;`,
    `const done = (o) => { process.stdout.write(JSON.stringify({ requireMs, ...o })); process.exit(0); };`,
  ];
  if (first === 'none') lines.push('done({});');
  else if (first === 'lambda-function-url')
    lines.push(
      `const event = ${JSON.stringify(functionUrlEvent('/p.gif', COLD_PIXEL_QUERY))};`,
      `const context = { awsRequestId: 'bench', functionName: 'bench', getRemainingTimeInMillis: () => 30000 };`,
      `const t1 = performance.now();`,
      `Promise.resolve(m.handler(event, context)).then(`,
      `  (r) => done({ firstRequestMs: performance.now() - t1, firstStatus: r && r.statusCode }),`,
      `  (e) => { console.error(e); process.exit(1); });`,
    );
  else
    lines.push(
      // The Functions Framework hands the function node's own req/res (after its body parser, which reads
      // nothing for a GET): a bare http server around the handler serves the same request.
      `const server = require('node:http').createServer(m.handler);`,
      `server.listen(0, '127.0.0.1', () => {`,
      `  const url = 'http://127.0.0.1:' + server.address().port + '/p.gif?${COLD_PIXEL_QUERY}';`,
      `  const t1 = performance.now();`,
      `  fetch(url, { headers: { 'user-agent': ${JSON.stringify(BROWSER_USER_AGENT)} } }).then(`,
      `    async (r) => { await r.arrayBuffer(); done({ firstRequestMs: performance.now() - t1, firstStatus: r.status }); },`,
      `    (e) => { console.error(e); process.exit(1); });`,
      `});`,
    );
  return lines.join('\n');
}

/**
 * Runs one probe of `file` in a fresh node process with exactly `env` (plus `PATH`).
 * @throws Error with the probe's stderr when it fails or prints something else than its figures
 */
export function coldStart(
  file: string,
  first: FirstRequest,
  cwd: string,
  env: Record<string, string>,
): ColdStart {
  const out = spawnSync(process.execPath, ['-e', probeScript(file, first)], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (out.status !== 0) {
    // Node prints the source line and a stack around the error: its own line is what says why.
    const reason = /^\w*Error\b.*$/m.exec(out.stderr)?.[0] ?? out.stderr.trim().slice(-600);
    throw new Error(`cold start of ${file} failed (${out.status ?? out.signal}): ${reason}`);
  }
  try {
    return JSON.parse(out.stdout) as ColdStart;
  } catch (err) {
    throw new Error(`unexpected output of the cold start probe of ${file}: ${out.stdout.slice(0, 300)}`, {
      cause: err,
    });
  }
}
