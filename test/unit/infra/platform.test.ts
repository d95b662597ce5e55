import {
  ConfigError,
  LOCATIONS,
  REGIONS,
  RETENTION,
  STAGES,
  locationOfAwsRegion,
  names,
  parseStageConfig,
} from '../../../platform';

describe('platform definition', () => {
  test('three locations, each with one AWS and one GCP region', () => {
    expect(LOCATIONS).toEqual(['americas', 'europe', 'apac']);
    expect(REGIONS.europe).toEqual({ aws: 'eu-west-1', gcp: 'europe-west1' });
    expect(locationOfAwsRegion('ap-southeast-1')).toBe('apac');
    expect(locationOfAwsRegion('us-west-2')).toBeUndefined();
  });

  test('retention keeps the 45–90 day promise with an alarm in between', () => {
    expect(RETENTION.purgeEligibleAfterDays).toBe(45);
    expect(RETENTION.purgeDeadlineDays).toBe(90);
    expect(RETENTION.purgeAlarmAfterDays).toBeGreaterThan(RETENTION.purgeEligibleAfterDays);
    expect(RETENTION.purgeAlarmAfterDays).toBeLessThan(RETENTION.purgeDeadlineDays);
  });

  test('bucket names carry the account and are valid S3 names for every stage and location', () => {
    // S3 names are global across all AWS accounts: 3 to 63 lowercase letters, digits, dots and dashes.
    const s3Name = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
    const account = '123456789012';
    const all = STAGES.flatMap((stage) => [
      names.purgeReceiptsBucket(stage, account),
      ...LOCATIONS.map((location) => names.eventBucket(stage, location, account)),
    ]);
    for (const name of all) {
      expect(name).toMatch(s3Name);
      expect(name.endsWith(`-${account}`)).toBe(true);
    }
    expect(new Set(all).size).toBe(all.length);
    expect(names.eventBucket('staging', 'americas', account)).toBe(
      'trackstack-staging-americas-events-123456789012',
    );
    expect(Math.max(...all.map((n) => n.length))).toBeLessThanOrEqual(63);
  });

  test('a valid stage config gets defaults', () => {
    const config = parseStageConfig({ stage: 'dev', awsAccount: '123456789012' });
    expect(config.locations).toEqual(['americas', 'europe', 'apac']);
    expect(config.ingestReservedConcurrency).toBe(50);
  });

  test('the directory recovery period defaults to the platform’s and is refused past its maximum', () => {
    expect(parseStageConfig({ stage: 'dev' }).directoryRecoveryDays).toBe(RETENTION.directoryRecoveryDays);
    expect(parseStageConfig({ stage: 'dev', directoryRecoveryDays: 10 }).directoryRecoveryDays).toBe(10);
    expect(RETENTION.maxDirectoryRecoveryDays).toBe(10);
    for (const bad of [11, 0, 2.5, '7']) {
      try {
        parseStageConfig({ stage: 'dev', directoryRecoveryDays: bad });
        throw new Error(`expected a ConfigError for ${JSON.stringify(bad)}`);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).issues).toEqual([
          expect.stringMatching(/^directoryRecoveryDays: must be /),
        ]);
      }
    }
    expect(() => parseStageConfig({ stage: 'dev', directoryRecoveryDays: 11 })).toThrow(
      /directoryRecoveryDays: must be at most 10/,
    );
    // A purge that finishes when the alarm fires must be irreversible by the deadline.
    expect(RETENTION.purgeAlarmAfterDays + RETENTION.maxDirectoryRecoveryDays).toBeLessThanOrEqual(
      RETENTION.purgeDeadlineDays,
    );
  });

  test('a missing stage names the key', () => {
    expect(() => parseStageConfig({})).toThrow(/stage: /);
  });

  test('every malformed key is named', () => {
    try {
      parseStageConfig({ stage: 'qa', awsAccount: '12', locations: ['mars'], extra: 1 }, 'cdk context');
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.message).toMatch(/^Invalid cdk context/);
      expect(e.issues.some((i) => i.startsWith('stage:'))).toBe(true);
      expect(e.issues.some((i) => i.startsWith('awsAccount: must be a 12-digit AWS account id'))).toBe(true);
      expect(e.issues.some((i) => i.startsWith('locations.0:'))).toBe(true);
      expect(e.issues.some((i) => /extra/.test(i))).toBe(true);
    }
  });
});
