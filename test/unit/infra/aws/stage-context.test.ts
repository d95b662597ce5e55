import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, LIMITS, LOCATIONS, RETENTION, type StageConfig } from '../../../../platform';
import { createApp, directoryHome, readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { readStageConfig, STAGES_CONTEXT_KEY } from '../../../../infra/aws/lib/stage-context';

function contextOf(values: Record<string, unknown>) {
  return { tryGetContext: (key: string): unknown => values[key] };
}

function configError(values: Record<string, unknown>): ConfigError {
  try {
    readStageConfig(contextOf(values));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const stages = { dev: {}, staging: {}, prod: {} };

describe('stage context', () => {
  test('a missing stage fails, naming the "stage" key and the allowed values', () => {
    const err = configError({ [STAGES_CONTEXT_KEY]: stages });
    expect(err.message).toContain('context "stage": must be one of dev, staging, prod');
    expect(err.message).toContain('pass -c stage=<stage>');
  });

  test('an unknown stage fails, naming the key and the value', () => {
    const err = configError({ stage: 'qa', [STAGES_CONTEXT_KEY]: stages });
    expect(err.issues).toEqual(['context "stage": must be one of dev, staging, prod; got "qa"']);
  });

  test('missing stage configurations fail, naming the context key', () => {
    expect(configError({ stage: 'dev' }).message).toContain(
      `context "${STAGES_CONTEXT_KEY}": must be an object`,
    );
    expect(configError({ stage: 'prod', [STAGES_CONTEXT_KEY]: { dev: {} } }).message).toContain(
      `${STAGES_CONTEXT_KEY}.prod: must be an object with the configuration of stage "prod"`,
    );
  });

  test('every malformed value is named by its full key', () => {
    const err = configError({
      stage: 'dev',
      [STAGES_CONTEXT_KEY]: {
        dev: { ingestMemoryMb: 64, awsAccount: '12', locations: ['mars'], alarmEmail: 'nobody', surprise: 1 },
      },
    });
    expect(err.issues.some((i) => i.startsWith('trackstack:stages.dev.ingestMemoryMb: '))).toBe(true);
    expect(err.issues.some((i) => i.startsWith('trackstack:stages.dev.awsAccount: '))).toBe(true);
    expect(err.issues.some((i) => i.startsWith('trackstack:stages.dev.locations.0: '))).toBe(true);
    expect(err.issues.some((i) => i.startsWith('trackstack:stages.dev.alarmEmail: '))).toBe(true);
    expect(err.issues.some((i) => i.startsWith('trackstack:stages.dev: ') && i.includes('surprise'))).toBe(
      true,
    );
    expect(err.issues).toHaveLength(5);
  });

  test('a stage field that contradicts its key fails', () => {
    const err = configError({ stage: 'dev', [STAGES_CONTEXT_KEY]: { dev: { stage: 'prod' } } });
    expect(err.issues).toEqual(['trackstack:stages.dev.stage: must be "dev" or omitted']);
  });

  test('a log retention CloudWatch Logs does not offer fails, naming the key', () => {
    const err = configError({ stage: 'dev', [STAGES_CONTEXT_KEY]: { dev: { logRetentionDays: 42 } } });
    expect(err.issues[0]).toMatch(
      /^trackstack:stages\.dev\.logRetentionDays: must be a CloudWatch Logs retention/,
    );
  });

  test('a directory recovery period past the platform maximum fails, naming the key', () => {
    const err = configError({
      stage: 'dev',
      [STAGES_CONTEXT_KEY]: { dev: { directoryRecoveryDays: RETENTION.maxDirectoryRecoveryDays + 1 } },
    });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatch(
      new RegExp(
        `^trackstack:stages\\.dev\\.directoryRecoveryDays: must be at most ${RETENTION.maxDirectoryRecoveryDays}`,
      ),
    );
  });

  test.each([
    [
      'ingestKeyCacheSeconds',
      61,
      'must be at most 60 seconds: a revoked API key or an expired account must be refused everywhere within 60 s',
    ],
    ['ingestKeyCacheSeconds', 0, 'must be at least 1 second'],
    ['ingestKeyCacheSeconds', 2.5, 'must be a whole number of seconds'],
    ['ingestIpRatePerSecond', 0, 'must be at least 1 request per second'],
    ['ingestIpRatePerSecond', -3, 'must be at least 1 request per second'],
    ['ingestKeyRatePerSecond', '200', 'must be a whole number of requests per second'],
    ['ingestPostbackIpRatePerSecond', 100_001, 'must be at most 100000 requests per second'],
    ['ingestRateBurstSeconds', 0, 'must be at least 1 second'],
    ['ingestRateBurstSeconds', 3601, 'must be at most 3600 seconds'],
  ])('an ingest limit %s of %p fails, naming the key and why', (key, value, message) => {
    const err = configError({ stage: 'dev', [STAGES_CONTEXT_KEY]: { dev: { [key]: value } } });
    expect(err.issues).toEqual([`trackstack:stages.dev.${key}: ${message}`]);
  });

  test('an empty entry gets the platform defaults', () => {
    const config = readStageConfig(contextOf({ stage: 'staging', [STAGES_CONTEXT_KEY]: stages }));
    expect(config).toMatchObject({ stage: 'staging', locations: [...LOCATIONS] });
    // The ingest limits default to today's values.
    expect(config).toMatchObject({
      ingestIpRatePerSecond: LIMITS.ipRatePerSecond,
      ingestKeyRatePerSecond: LIMITS.apiKeyRatePerSecond,
      ingestPostbackIpRatePerSecond: LIMITS.postbackIpRatePerSecond,
      ingestRateBurstSeconds: LIMITS.rateBurstSeconds,
      ingestKeyCacheSeconds: LIMITS.keyStatusCacheSeconds,
    });
    expect(config.logRetentionDays).toBe(RETENTION.logRetentionDays);
    expect(config.directoryRecoveryDays).toBe(RETENTION.directoryRecoveryDays);
  });

  test('cdk.json configures every stage validly', () => {
    for (const stage of ['dev', 'staging', 'prod']) {
      expect(readStageConfig(contextOf({ ...readCdkJsonContext(), stage })).stage).toBe(stage);
    }
  });

  test('createApp fails before building anything when the stage is missing', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-nostage-'));
    try {
      expect(() => createApp({ context: readCdkJsonContext(), outdir })).toThrow(ConfigError);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('the directory lives in the primary location unless the stage leaves it out', () => {
    const base = readStageConfig(contextOf({ stage: 'dev', [STAGES_CONTEXT_KEY]: stages }));
    expect(directoryHome(base)).toBe('americas');
    const narrowed: StageConfig = { ...base, locations: ['europe', 'apac'] };
    expect(directoryHome(narrowed)).toBe('europe');
  });
});
