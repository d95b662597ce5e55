/**
 * Typed Pulumi configuration, read once. Validated with the platform's stage schema, so `pulumi up` fails
 * before any resource is touched when a key is missing or malformed, naming the key.
 */
import * as pulumi from '@pulumi/pulumi';
import { parseStageConfig, type StageConfig } from '../../platform';

/** Reads and validates the stack's configuration. */
export function loadConfig(): StageConfig {
  const cfg = new pulumi.Config('trackstack');
  const gcp = new pulumi.Config('gcp');
  const raw: Record<string, unknown> = {
    stage: cfg.get('stage'),
    gcpProject: gcp.get('project'),
    locations: cfg.getObject<unknown>('locations'),
    alarmEmail: cfg.get('alarmEmail'),
    domainName: cfg.get('domainName'),
  };
  for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key];
  return parseStageConfig(raw, `Pulumi config of stack "${pulumi.getStack()}"`);
}
