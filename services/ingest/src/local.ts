/**
 * `npm run local`: the ingest service on embedded defaults. No cloud, no credentials: a file sink under
 * `.data/`, a local master key created 0600, a seeded demo account, campaign and API key, and the snippet,
 * campaign config and a demo page served the way the CDN serves them.
 */
import { resolve } from 'node:path';
import { UsageError, parseCommandLine, parseFlags, wholeNumber } from '../../shared/cli';
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { LocalDirectory } from '../../shared/directory/local-directory';
import { seedDemo } from './local/seed';
import { exitOnSignals, startServer } from './server';

const USAGE = `Usage: npm run local -- [--port <1-65535>] [--host <address>] [--data-dir <path>]

  --port      port to listen on (default 8080)
  --host      address to bind (default 127.0.0.1)
  --data-dir  where events, spool, keys and the directory live (default .data)
  --help      show this message`;

/** Parsed command line. */
export interface LocalArgs {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
}

/**
 * Parses the command line.
 * @throws UsageError naming the flag
 */
export function parseLocalArgs(argv: readonly string[]): LocalArgs & { readonly help: boolean } {
  const values = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const port = wholeNumber('--port', values.port ?? '8080', 1, 65535);
  const host = values.host ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host))
    throw new UsageError(`--host must be an address or host name, got "${host}"`);
  const dataDir = values['data-dir'] ?? '.data';
  if (dataDir.trim() === '') throw new UsageError('--data-dir must not be empty');
  return { port, host, dataDir: resolve(dataDir), help: values.help === true };
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), parseLocalArgs, USAGE);
  if (typeof args === 'number') process.exit(args);
  const env = parseIngestEnv({
    ...process.env,
    TS_STAGE: 'local',
    TS_LOCAL_MODE: 'true',
    TS_SINK: 'file',
    TS_KEY_PROVIDER: 'local',
    TS_DIRECTORY: 'file',
    TS_DATA_DIR: args.dataDir,
  });
  const seeded = await seedDemo(new LocalDirectory({ dataDir: args.dataDir }), args.dataDir);
  const running = await startServer({ env, port: args.port, host: args.host });
  exitOnSignals(running);
  const url = running.url;
  console.log(`Trackstack ingest (embedded defaults) on ${url}
  data:     ${args.dataDir}
  demo:     ${url}/demo
  snippet:  <script async src="${url}/snippet.js" data-account="${seeded.accountId}" data-campaign="${seeded.campaignId}"></script>
  pixel:    ${url}/p.gif?a=${seeded.accountId}&c=${seeded.campaignId}&e=impression`);
  if (seeded.apiKey)
    console.log(`  API key:  ${seeded.apiKey}
            (shown once; only its hash is stored. Postback: curl -H "x-api-key: <key>" "${url}/postback?a=${seeded.accountId}&campaignId=${seeded.campaignId}&clickId=abc123")`);
  else
    console.log(
      '  API key:  created on first run (only its hash is stored; delete the data dir to get a new one)',
    );
}

if (require.main === module) void main();
