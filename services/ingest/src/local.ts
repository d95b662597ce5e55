/**
 * `npm run local`: the ingest service on embedded defaults. No cloud, no credentials: a file sink under
 * `.data/`, a local master key created 0600, a seeded demo account, campaign and API key, and the snippet,
 * campaign config and a demo page served the way the CDN serves them.
 */
import { resolve } from 'node:path';
import { UsageError, parseCommandLine, parseFlags, wholeNumber, type FlagOptions } from '../../shared/cli';
import {
  KEY_CACHE_TOO_LONG,
  LIMITS,
  MAX_RATE_BURST_SECONDS,
  MAX_SERVICE_RATE_PER_SECOND,
} from '../../../platform';
import { parseIngestEnv, type IngestEnvInput } from '../../../platform/contracts/ingest-env';
import { LocalDirectory } from '../../shared/directory/local-directory';
import { seedDemo } from './local/seed';
import { exitOnSignals, startServer } from './server';

/** The flags `npm run local` takes; the usage lists each (a unit test holds the two together). */
export const LOCAL_FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  'ip-rate': { type: 'string' },
  'key-rate': { type: 'string' },
  'postback-ip-rate': { type: 'string' },
  'burst-seconds': { type: 'string' },
  'key-cache-seconds': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies FlagOptions;

/** What `npm run local -- --help` prints, and what follows a mistake. */
export const LOCAL_USAGE = `Usage: npm run local -- [--port <1-65535>] [--host <address>] [--data-dir <path>]
                        [--ip-rate <n>] [--key-rate <n>] [--postback-ip-rate <n>]
                        [--burst-seconds <n>] [--key-cache-seconds <1-${LIMITS.keyStatusCacheSeconds}>]

  --port               port to listen on (default 8080)
  --host               address to bind (default 127.0.0.1)
  --data-dir           where events, spool, keys and the directory live (default .data)
  --ip-rate            hits per second admitted from one client IP (default ${LIMITS.ipRatePerSecond})
  --key-rate           postbacks per second admitted from one API key (default ${LIMITS.apiKeyRatePerSecond})
  --postback-ip-rate   postbacks per second admitted from one client IP (default ${LIMITS.postbackIpRatePerSecond})
  --burst-seconds      seconds' worth of each rate a client may send at once (default ${LIMITS.rateBurstSeconds})
  --key-cache-seconds  seconds an account or API-key status is cached: a revoked key is refused within
                       this (default and most ${LIMITS.keyStatusCacheSeconds})
  --help               show this message

The rates and the burst may also be set as TS_IP_RATE_PER_SECOND, TS_KEY_RATE_PER_SECOND,
TS_POSTBACK_IP_RATE_PER_SECOND, TS_RATE_BURST_SECONDS and TS_KEY_CACHE_SECONDS; a flag wins.`;

/** The limit variables the flags set (only those given: the rest keep the environment's or the default). */
export type LocalLimitEnv = Pick<
  IngestEnvInput,
  | 'TS_IP_RATE_PER_SECOND'
  | 'TS_KEY_RATE_PER_SECOND'
  | 'TS_POSTBACK_IP_RATE_PER_SECOND'
  | 'TS_RATE_BURST_SECONDS'
  | 'TS_KEY_CACHE_SECONDS'
>;

/** Parsed command line. */
export interface LocalArgs {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** The limits given as flags, as the service's environment variables. */
  readonly limits: LocalLimitEnv;
}

/** A rate flag's value, checked against the bounds the service's environment accepts. */
function rateFlag(name: string, text: string | undefined): string | undefined {
  return text === undefined ? undefined : String(wholeNumber(name, text, 1, MAX_SERVICE_RATE_PER_SECOND));
}

/** `--key-cache-seconds`: never above the bound within which a revoked key must be refused. */
function keyCacheFlag(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text) && Number(text) > LIMITS.keyStatusCacheSeconds)
    throw new UsageError(`--key-cache-seconds ${KEY_CACHE_TOO_LONG}; got "${text}"`);
  return String(wholeNumber('--key-cache-seconds', text, 1, LIMITS.keyStatusCacheSeconds));
}

/**
 * Parses the command line.
 * @throws UsageError naming the flag
 */
export function parseLocalArgs(argv: readonly string[]): LocalArgs & { readonly help: boolean } {
  const values = parseFlags(argv, LOCAL_FLAGS);
  const port = wholeNumber('--port', values.port ?? '8080', 1, 65535);
  const host = values.host ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host))
    throw new UsageError(`--host must be an address or host name, got "${host}"`);
  const dataDir = values['data-dir'] ?? '.data';
  if (dataDir.trim() === '') throw new UsageError('--data-dir must not be empty');
  const burst = values['burst-seconds'];
  const limits: LocalLimitEnv = {
    TS_IP_RATE_PER_SECOND: rateFlag('--ip-rate', values['ip-rate']),
    TS_KEY_RATE_PER_SECOND: rateFlag('--key-rate', values['key-rate']),
    TS_POSTBACK_IP_RATE_PER_SECOND: rateFlag('--postback-ip-rate', values['postback-ip-rate']),
    TS_RATE_BURST_SECONDS:
      burst === undefined
        ? undefined
        : String(wholeNumber('--burst-seconds', burst, 1, MAX_RATE_BURST_SECONDS)),
    TS_KEY_CACHE_SECONDS: keyCacheFlag(values['key-cache-seconds']),
  };
  return { port, host, dataDir: resolve(dataDir), limits, help: values.help === true };
}

/**
 * The environment `npm run local` runs the service with: embedded defaults (file sink, local key, local
 * directory) over the caller's environment, and the limits given as flags over both.
 */
export function localEnv(
  args: Pick<LocalArgs, 'dataDir' | 'limits'>,
  base: NodeJS.ProcessEnv | Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  const limits = Object.fromEntries(Object.entries(args.limits).filter(([, v]) => v !== undefined));
  return {
    ...base,
    TS_STAGE: 'local',
    TS_LOCAL_MODE: 'true',
    TS_SINK: 'file',
    TS_KEY_PROVIDER: 'local',
    TS_DIRECTORY: 'file',
    TS_DATA_DIR: args.dataDir,
    ...limits,
  };
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2), parseLocalArgs, LOCAL_USAGE);
  if (typeof args === 'number') process.exit(args);
  let env: ReturnType<typeof parseIngestEnv>;
  try {
    env = parseIngestEnv(localEnv(args, process.env));
  } catch (err) {
    // A bad TS_* variable in the caller's shell is a usage mistake too: say which, and exit 2.
    console.error((err as Error).message);
    process.exit(2);
  }
  const seeded = await seedDemo(new LocalDirectory({ dataDir: args.dataDir }), args.dataDir);
  const running = await startServer({ env, port: args.port, host: args.host });
  exitOnSignals(running);
  const url = running.url;
  console.log(`Trackstack ingest (embedded defaults) on ${url}
  data:     ${args.dataDir}
  demo:     ${url}/demo
  snippet:  <script async src="${url}/snippet.js" data-account="${seeded.accountId}" data-campaign="${seeded.campaignId}"></script>
  pixel:    ${url}/p.gif?a=${seeded.accountId}&c=${seeded.campaignId}&e=impression
  limits:   ${env.TS_IP_RATE_PER_SECOND}/s per IP, ${env.TS_KEY_RATE_PER_SECOND}/s per API key, ${env.TS_POSTBACK_IP_RATE_PER_SECOND}/s postbacks per IP (bursts of ${env.TS_RATE_BURST_SECONDS} s); key status cached ${env.TS_KEY_CACHE_SECONDS} s`);
  if (seeded.apiKey)
    console.log(`  API key:  ${seeded.apiKey}
            (shown once; only its hash is stored. Postback: curl -H "x-api-key: <key>" "${url}/postback?a=${seeded.accountId}&campaignId=${seeded.campaignId}&clickId=abc123")`);
  else
    console.log(
      '  API key:  created on first run (only its hash is stored; delete the data dir to get a new one)',
    );
}

if (require.main === module) void main();
