/**
 * What the scan's tests share: the official SARIF 2.1.0 schema and the report's own JSON schema, compiled
 * once, and the stacks of deliberately non-compliant resources the known-violation tests add to the app.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import type { App } from 'aws-cdk-lib';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { REPO_ROOT } from '../../../infra/build/paths';

/**
 * The OASIS SARIF 2.1.0 schema (rtm.5, the final 2.1.0), as Microsoft's SARIF SDK ships it in
 * @microsoft/jest-sarif; it is draft-04 JSON Schema, hence the draft-04 build of ajv.
 */
export function sarifValidator() {
  const schemaFile = join(
    require.resolve('@microsoft/jest-sarif/package.json'),
    '..',
    'lib/schemas/sarif-2.1.0-rtm.5.json',
  );
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { title: string };
  // The schema's `language` pattern (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`) is valid only without the
  // `u` flag, as JSON Schema validators of its day compiled it.
  const ajv = new AjvDraft04({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  return { title: schema.title, validate: ajv.compile(schema) };
}

/** The JSON report's documented schema, `docs/scan-report.schema.json`. */
export function reportValidator() {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/scan-report.schema.json'), 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** The stack the known-violation tests add to the dev app. */
export const FIXTURE_STACK = 'Trackstack-dev-scan-fixture';

/**
 * Adds a stack of known violations to an app: a bucket with no encryption at all, a role whose policy
 * allows every action on every resource, and a property value CloudFormation rejects (for cfn-lint).
 */
export function addViolations(app: App): void {
  const stack = new Stack(app, FIXTURE_STACK, { env: { region: 'eu-west-1' } });
  new s3.CfnBucket(stack, 'Unencrypted', {});
  const role = new iam.Role(stack, 'Wildcard', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['*'], resources: ['*'] }));
  new s3.CfnBucket(stack, 'BadVersioning', { versioningConfiguration: { status: 'Sometimes' } });
}
