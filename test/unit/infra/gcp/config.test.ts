/**
 * The GCP stack's configuration: the committed stack files validate, every key the program reads is
 * documented in `Pulumi.yaml`, and a missing or malformed value fails naming its Pulumi key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { load } from 'js-yaml';
import { CONFIG_KEYS, loadConfig, parseGcpConfig } from '../../../../infra/gcp/config';
import { ConfigError, LIMITS } from '../../../../platform';
import { ROOT, stackConfig } from './support';

const dev = stackConfig('dev');
/** The ingest limits a stack gets when it sets none: today's values. */
const DEFAULT_LIMITS = {
  ingestIpRatePerSecond: LIMITS.ipRatePerSecond,
  ingestKeyRatePerSecond: LIMITS.apiKeyRatePerSecond,
  ingestPostbackIpRatePerSecond: LIMITS.postbackIpRatePerSecond,
  ingestRateBurstSeconds: LIMITS.rateBurstSeconds,
  ingestKeyCacheSeconds: LIMITS.keyStatusCacheSeconds,
};

/** The message of what `fn` throws. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('GCP stack config', () => {
  test('the committed dev and prod stacks validate into typed config', () => {
    expect(parseGcpConfig(dev)).toEqual({
      project: 'trackstack-dev-123456',
      stage: 'dev',
      locations: ['americas', 'europe', 'apac'],
      ingestMemoryMb: 256,
      ingestMaxInstances: 5,
      logRetentionDays: 30,
      ingestLimits: DEFAULT_LIMITS,
    });
    expect(parseGcpConfig(stackConfig('prod'))).toMatchObject({
      stage: 'prod',
      domainName: 't.example.com',
      alarmEmail: 'oncall@example.com',
      logRetentionDays: 365,
    });
  });

  test('defaults: all three locations, the platform’s sizes', () => {
    expect(parseGcpConfig({ 'gcp:project': 'my-project', 'trackstack:stage': 'staging' })).toEqual({
      project: 'my-project',
      stage: 'staging',
      locations: ['americas', 'europe', 'apac'],
      ingestMemoryMb: 512,
      ingestMaxInstances: 50,
      logRetentionDays: 365,
      ingestLimits: DEFAULT_LIMITS,
    });
  });

  test('the ingest limits are read from their keys', () => {
    const config = parseGcpConfig({
      ...dev,
      'trackstack:ingestIpRatePerSecond': '5',
      'trackstack:ingestKeyRatePerSecond': '7',
      'trackstack:ingestPostbackIpRatePerSecond': '9',
      'trackstack:ingestRateBurstSeconds': '2',
      'trackstack:ingestKeyCacheSeconds': '15',
    });
    expect(config.ingestLimits).toEqual({
      ingestIpRatePerSecond: 5,
      ingestKeyRatePerSecond: 7,
      ingestPostbackIpRatePerSecond: 9,
      ingestRateBurstSeconds: 2,
      ingestKeyCacheSeconds: 15,
    });
  });

  test.each([
    ['a missing stage', { 'trackstack:stage': undefined }, 'trackstack:stage: is required'],
    ['a missing project', { 'gcp:project': undefined }, 'gcp:project: is required'],
    ['a malformed project', { 'gcp:project': 'My_Project' }, 'gcp:project: must be a GCP project id'],
    ['an unknown location', { 'trackstack:locations': '["americas","mars"]' }, 'trackstack:locations.1:'],
    ['an empty location list', { 'trackstack:locations': '[]' }, 'trackstack:locations:'],
    [
      'locations that are not a list',
      { 'trackstack:locations': 'americas' },
      'trackstack:locations: must be a YAML list',
    ],
    [
      'a size that is not a number',
      { 'trackstack:ingestMemoryMb': 'lots' },
      'trackstack:ingestMemoryMb: must be a number',
    ],
    ['a size out of range', { 'trackstack:ingestMaxInstances': '5000' }, 'trackstack:ingestMaxInstances:'],
    ['a malformed email', { 'trackstack:alarmEmail': 'oncall' }, 'trackstack:alarmEmail:'],
    [
      'a key-status cache above 60 s',
      { 'trackstack:ingestKeyCacheSeconds': '61' },
      'trackstack:ingestKeyCacheSeconds: must be at most 60 seconds: a revoked API key',
    ],
    [
      'a zero per-IP rate',
      { 'trackstack:ingestIpRatePerSecond': '0' },
      'trackstack:ingestIpRatePerSecond: must be at least 1 request per second',
    ],
    [
      'a rate that is not a number',
      { 'trackstack:ingestKeyRatePerSecond': 'fast' },
      'trackstack:ingestKeyRatePerSecond: must be a number',
    ],
    [
      'an uppercase domain',
      { 'trackstack:domainName': 'T.Example.com' },
      'trackstack:domainName: must be a lowercase DNS name',
    ],
    // 'trackstack-staging-americas-config-' is 35 characters; GCS allows 63.
    [
      'a project id too long for the bucket names',
      { 'trackstack:stage': 'staging', 'gcp:project': `a${'b'.repeat(28)}c` },
      'gcp:project: is too long for the bucket names of stage "staging" (65 > 63 characters)',
    ],
  ])('%s fails naming the key', (_, change, message) => {
    expect(thrown(() => parseGcpConfig({ ...dev, ...change }))).toContain(message);
  });

  test('a custom domain alone is enough on GCP (the platform’s certificate rule is the AWS one)', () => {
    expect(parseGcpConfig({ ...dev, 'trackstack:domainName': 't.example.com' }).domainName).toBe(
      't.example.com',
    );
  });

  test('loadConfig reads the stack’s Pulumi config and names the stack and the key', async () => {
    await pulumi.runtime.setMocks(
      { newResource: () => ({ id: undefined, state: {} }), call: () => ({}) },
      'trackstack',
      'dev',
    );
    pulumi.runtime.setAllConfig(dev);
    expect(loadConfig().locations).toEqual(['americas', 'europe', 'apac']);
    pulumi.runtime.setAllConfig({ ...dev, 'trackstack:locations': '["europe","moon"]' });
    const message = thrown(() => loadConfig());
    expect(message).toContain('Invalid Pulumi config of stack "dev"');
    expect(message).toContain('trackstack:locations.1:');
  });
});

describe('Pulumi.yaml', () => {
  const project = load(fs.readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8')) as {
    name: string;
    main: string;
    config: Record<string, { type?: string; description?: string; value?: unknown }>;
  };

  test('points at the GCP program', () => {
    expect(project.name).toBe('trackstack');
    expect(fs.existsSync(path.join(ROOT, project.main))).toBe(true);
  });

  test('types and describes every project key the program reads, and nothing else', () => {
    const own = CONFIG_KEYS.filter((k) => k.startsWith(`${project.name}:`));
    expect(Object.keys(project.config).sort()).toEqual([...own].sort());
    for (const key of own) {
      expect([key, project.config[key]?.type]).toEqual([
        key,
        expect.stringMatching(/^(string|integer|boolean|array)$/),
      ]);
      expect(project.config[key]?.description?.length ?? 0).toBeGreaterThan(20);
    }
  });

  test('documents the provider key it may not type (Pulumi refuses a type outside the project namespace)', () => {
    const others = CONFIG_KEYS.filter((k) => !k.startsWith(`${project.name}:`));
    expect(others).toEqual(['gcp:project']);
    const text = fs.readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8');
    for (const key of others) expect(text).toContain(`\`${key}\``);
  });

  test.each(['dev', 'prod'])('Pulumi.%s.yaml sets only keys the program reads', (stack) => {
    for (const key of Object.keys(stackConfig(stack))) expect(CONFIG_KEYS).toContain(key);
  });
});
