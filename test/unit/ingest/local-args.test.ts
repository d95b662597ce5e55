/**
 * `npm run local`'s command line: the limit flags become the service's environment (over the caller's),
 * bad values are refused naming the flag with exit status 2, and `--help` lists every flag it parses.
 */
import { parseIngestEnv } from '../../../platform/contracts/ingest-env';
import { LIMITS } from '../../../platform';
import { parseCommandLine, UsageError } from '../../../services/shared/cli';
import { LOCAL_FLAGS, LOCAL_USAGE, localEnv, parseLocalArgs } from '../../../services/ingest/src/local';

/** The message `parseLocalArgs` throws for `argv`. */
function usageError(argv: string[]): string {
  try {
    parseLocalArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

describe('npm run local: limit flags', () => {
  test('without flags the service runs on embedded defaults and today’s limits', () => {
    const args = parseLocalArgs([]);
    expect(args).toMatchObject({ port: 8080, host: '127.0.0.1', help: false });
    const env = parseIngestEnv(localEnv(args));
    expect(env).toMatchObject({
      TS_STAGE: 'local',
      TS_SINK: 'file',
      TS_DIRECTORY: 'file',
      TS_KEY_PROVIDER: 'local',
      TS_IP_RATE_PER_SECOND: LIMITS.ipRatePerSecond,
      TS_KEY_RATE_PER_SECOND: LIMITS.apiKeyRatePerSecond,
      TS_POSTBACK_IP_RATE_PER_SECOND: LIMITS.postbackIpRatePerSecond,
      TS_RATE_BURST_SECONDS: LIMITS.rateBurstSeconds,
      TS_KEY_CACHE_SECONDS: LIMITS.keyStatusCacheSeconds,
    });
  });

  test('each limit flag sets its variable, which the service reads', () => {
    const args = parseLocalArgs([
      '--ip-rate',
      '5',
      '--key-rate',
      '7',
      '--postback-ip-rate',
      '9',
      '--burst-seconds',
      '2',
      '--key-cache-seconds',
      '5',
    ]);
    expect(parseIngestEnv(localEnv(args))).toMatchObject({
      TS_IP_RATE_PER_SECOND: 5,
      TS_KEY_RATE_PER_SECOND: 7,
      TS_POSTBACK_IP_RATE_PER_SECOND: 9,
      TS_RATE_BURST_SECONDS: 2,
      TS_KEY_CACHE_SECONDS: 5,
    });
  });

  test('a flag wins over the caller’s environment; an absent flag leaves the environment’s value', () => {
    const base = { TS_IP_RATE_PER_SECOND: '9', TS_KEY_RATE_PER_SECOND: '11', TS_SINK: 'firehose' };
    const env = parseIngestEnv(localEnv(parseLocalArgs(['--ip-rate', '5']), base));
    expect(env).toMatchObject({ TS_IP_RATE_PER_SECOND: 5, TS_KEY_RATE_PER_SECOND: 11, TS_SINK: 'file' });
  });

  test('a key cache above 60 s is refused with the reason', () => {
    expect(usageError(['--key-cache-seconds', '61'])).toBe(
      '--key-cache-seconds must be at most 60 seconds: a revoked API key or an expired account must be refused everywhere within 60 s; got "61"',
    );
  });

  test.each([
    [['--ip-rate', '0'], '--ip-rate must be a whole number from 1 to 100000, got "0"'],
    [['--ip-rate=-5'], '--ip-rate must be a whole number from 1 to 100000, got "-5"'],
    [['--key-rate', 'fast'], '--key-rate must be a whole number from 1 to 100000, got "fast"'],
    [['--postback-ip-rate', '2.5'], '--postback-ip-rate must be a whole number from 1 to 100000, got "2.5"'],
    [['--burst-seconds', '0'], '--burst-seconds must be a whole number from 1 to 3600, got "0"'],
    [['--key-cache-seconds', '0'], '--key-cache-seconds must be a whole number from 1 to 60, got "0"'],
    [['--ip-rate'], "Option '--ip-rate <value>' argument missing"],
  ])('%j is refused naming the flag', (argv, message) => {
    expect(usageError(argv)).toContain(message);
  });

  test('a bad flag exits 2 with the message and the usage; --help exits 0 with the usage', () => {
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(parseCommandLine(['--ip-rate', '0'], parseLocalArgs, LOCAL_USAGE)).toBe(2);
      expect(error).toHaveBeenCalledWith(expect.stringContaining('--ip-rate must be a whole number'));
      expect(error).toHaveBeenCalledWith(expect.stringContaining(LOCAL_USAGE));
      expect(parseCommandLine(['--help'], parseLocalArgs, LOCAL_USAGE)).toBe(0);
      expect(log).toHaveBeenCalledWith(LOCAL_USAGE);
    } finally {
      error.mockRestore();
      log.mockRestore();
    }
  });

  test('--help describes every flag the command line parses, and no other', () => {
    const described = [...LOCAL_USAGE.matchAll(/^ {2}--([a-z-]+) /gm)].map((m) => m[1]);
    expect(described.sort()).toEqual(Object.keys(LOCAL_FLAGS).sort());
    // The synopsis names each value-taking flag too.
    for (const flag of Object.keys(LOCAL_FLAGS).filter((f) => f !== 'help'))
      expect(LOCAL_USAGE).toContain(`[--${flag} <`);
  });
});
