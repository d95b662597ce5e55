/**
 * The command line of the pipeline's smoke check (`npm run smoke`): every flag validated, exit status 2 with
 * the usage on a mistake, before any AWS call.
 */
import { parseSmokeArgs, runSmokeCli } from '../../../../scripts/smoke/cli';
import { isbot } from 'isbot';
import { formatResults, SMOKE_USER_AGENT, smokeAccountId } from '../../../../scripts/smoke/smoke';
import { ID_PATTERNS, LOCATIONS } from '../../../../platform';
import { readCdkJsonContext } from '../../../../infra/aws/lib/app';

describe('parseSmokeArgs', () => {
  test('defaults: every location of the stage, a 5-minute budget, a listing every 10 s', () => {
    expect(parseSmokeArgs(['--stage', 'staging'])).toEqual({
      stage: 'staging',
      locations: undefined,
      timeoutMs: 300_000,
      pollMs: 10_000,
      roleArn: undefined,
      setup: false,
      help: false,
    });
  });

  test('--location repeats, --timeout and --poll in seconds', () => {
    expect(
      parseSmokeArgs(['-s', 'prod', '--location', 'europe', '-l', 'apac', '--timeout', '600', '--poll', '5']),
    ).toMatchObject({ stage: 'prod', locations: ['europe', 'apac'], timeoutMs: 600_000, pollMs: 5_000 });
  });

  test('--role-arn takes a role of another account', () => {
    const role = 'arn:aws:iam::444455556666:role/cdk-hnb659fds-lookup-role-444455556666-us-east-1';
    expect(parseSmokeArgs(['--stage', 'staging', '--role-arn', role]).roleArn).toBe(role);
  });

  test.each([
    [[], '--stage is required'],
    [['--stage', 'qa'], '--stage must be one of dev, staging, prod; got "qa"'],
    [
      ['--stage', 'prod', '--location', 'mars'],
      '--location must be one of americas, europe, apac; got "mars"',
    ],
    [['--stage', 'prod', '-l', 'apac', '-l', 'apac'], '--location names a location twice'],
    [['--stage', 'prod', '--timeout', '0'], '--timeout must be a whole number from 1 to 3600, got "0"'],
    [['--stage', 'prod', '--timeout', '5m'], '--timeout must be a whole number from 1 to 3600, got "5m"'],
    [['--stage', 'prod', '--poll', '61'], '--poll must be a whole number from 1 to 60, got "61"'],
    [['--stage', 'prod', '--region', 'eu-west-1'], "Unknown option '--region'"],
    [['--stage', 'prod', '--role-arn', 'cdk-lookup-role'], '--role-arn must be an IAM role ARN'],
    [['--stage', 'prod', '--role-arn', 'arn:aws:iam::12:role/x'], '--role-arn must be an IAM role ARN'],
    [['--stage', 'prod', 'extra'], 'extra'],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseSmokeArgs(argv)).toThrow(message);
  });
});

describe('runSmokeCli', () => {
  async function run(argv: string[], context?: Record<string, unknown>) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runSmokeCli(argv, {
      stdout: (l) => out.push(l),
      stderr: (l) => err.push(l),
      context,
      // Any AWS call would fail here: nothing listens on this port.
      awsClientConfig: {
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      },
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  test('a bad flag exits 2 with the message and the usage', async () => {
    const { code, err } = await run(['--stage', 'staging', '--poll', 'often']);
    expect(code).toBe(2);
    expect(err).toContain('--poll must be a whole number');
    expect(err).toContain('Usage: npm run smoke');
  });

  test('a location outside the stage exits 2', async () => {
    const context = readCdkJsonContext();
    const stages = context['trackstack:stages'] as Record<string, object>;
    const { code, err } = await run(['--stage', 'dev', '--location', 'apac'], {
      ...context,
      'trackstack:stages': { ...stages, dev: { ...stages.dev, locations: ['americas', 'europe'] } },
    });
    expect(code).toBe(2);
    expect(err).toContain('--location apac is not a location of stage dev');
  });

  test('--help prints the usage and exits 0', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('--timeout <seconds>');
  });
});

test("the smoke hit's user agent passes the ingest service's bot filter", () => {
  expect(isbot(SMOKE_USER_AGENT)).toBe(false);
});

test('--setup is parsed', () => {
  expect(parseSmokeArgs(['--stage', 'staging', '--setup']).setup).toBe(true);
  expect(parseSmokeArgs(['--stage', 'staging']).setup).toBe(false);
});

test('each location has a smoke account with a valid id of its own', () => {
  const ids = LOCATIONS.map(smokeAccountId);
  for (const id of ids) expect(id).toMatch(ID_PATTERNS.account);
  expect(new Set(ids).size).toBe(LOCATIONS.length);
});

test('the report has one line per region, failures marked', () => {
  expect(
    formatResults([
      { location: 'americas', ok: true, detail: 's3://b/k', elapsedMs: 61_000 },
      { location: 'apac', ok: false, detail: 'no new object', elapsedMs: 300_000 },
    ]),
  ).toEqual(['americas  ok       61.0 s  s3://b/k', 'apac      FAILED  300.0 s  no new object']);
});
