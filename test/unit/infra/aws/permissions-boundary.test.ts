/**
 * The permissions boundary (`PermissionsBoundary`) and IAM across the regional stacks: every role carries
 * the boundary, and everything any role of a stack is granted lies within it. These need every role of the
 * stack, so they read the whole dev stage's templates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LIMITS, type Location, LOCATIONS, names, RECEIPTS, REGIONS } from '../../../../platform';
import { FIREHOSE_S3_DELIVERY_ACTIONS } from '../../../../infra/aws/lib/constructs/event-stream';
import { PermissionsBoundary } from '../../../../infra/aws/lib/constructs/permissions-boundary';
import {
  actions,
  boundaryOf,
  iamPattern,
  type Json,
  logicalIdOf,
  render,
  resourcesOf,
  type StatementJson,
  synthesizeEdgeVariant,
  synthesizeStage,
  type SynthesizedApp,
  TEST_ACCOUNT,
  SKIP_BUNDLING,
} from './support';

const EU = REGIONS.europe.aws;
let synth: SynthesizedApp;
let europe: Template;

beforeAll(() => {
  // The templates' policies, not the functions' code: the snapshot and compliance tests bundle for real.
  synth = synthesizeStage('dev', SKIP_BUNDLING);
  europe = synth.templates.europe!;
});
afterAll(() => synth?.dispose());

describe('IAM', () => {
  test('every role has the stack’s permissions boundary', () => {
    for (const template of Object.values(synth.templates)) {
      const boundary = logicalIdOf(template, 'AWS::IAM::ManagedPolicy', {
        Description: Match.stringLikeRegexp('^Permissions boundary'),
      });
      const roles = Object.values(template.findResources('AWS::IAM::Role')) as Json[];
      expect(roles.length).toBeGreaterThanOrEqual(2);
      for (const role of roles) {
        expect((role.Properties as Json).PermissionsBoundary).toEqual({ Ref: boundary });
      }
    }
  });

  test('no inline policies and no wildcard action anywhere', () => {
    for (const template of Object.values(synth.templates)) {
      expect(template.findResources('AWS::IAM::Policy')).toEqual({});
      for (const role of Object.values(template.findResources('AWS::IAM::Role')) as Json[]) {
        expect((role.Properties as Json).Policies).toBeUndefined();
      }
      for (const policy of Object.values(template.findResources('AWS::IAM::ManagedPolicy')) as Json[]) {
        const statements = (policy.Properties as { PolicyDocument: { Statement: StatementJson[] } })
          .PolicyDocument.Statement;
        for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
          expect(actions(statement).filter((a) => a.includes('*'))).toEqual([]);
        }
      }
    }
  });

  test('the boundary allows only the platform’s actions and denies escalation and key destruction', () => {
    const boundary = logicalIdOf(europe, 'AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('^Permissions boundary'),
    });
    const statements = (
      europe.toJSON().Resources[boundary].Properties as { PolicyDocument: { Statement: StatementJson[] } }
    ).PolicyDocument.Statement;
    const services = new Set(
      statements.filter((s) => s.Effect === 'Allow').flatMap((s) => actions(s).map((a) => a.split(':')[0])),
    );
    expect([...services].sort()).toEqual([
      'dynamodb',
      'events',
      'firehose',
      'kms',
      'logs',
      's3',
      'sqs',
      'xray',
    ]);
    const denied = statements.filter((s) => s.Effect === 'Deny').flatMap(actions);
    expect(denied).toEqual(
      expect.arrayContaining(['iam:*', 'organizations:*', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy']),
    );
  });

  test('the boundary names the project’s buckets, never every bucket', () => {
    for (const location of LOCATIONS) {
      const template = synth.templates[location]!;
      const region = REGIONS[location].aws;
      const statements = boundaryOf(template);
      for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
        for (const resource of resourcesOf(statement)) {
          const arn = render(template, resource, region);
          expect(arn).not.toMatch(/^arn:aws:s3:::\*/);
          if (arn.startsWith('arn:aws:s3:')) expect(arn).toMatch(/^arn:aws:s3:::trackstack-dev-[a-z]/);
        }
      }
      // Objects are written into this location's event bucket (Firehose) and the receipts bucket (purge).
      const eventBucket = `arn:aws:s3:::${names.eventBucket('dev', location, TEST_ACCOUNT)}`;
      const receipts = `arn:aws:s3:::${names.purgeReceiptsBucket('dev', TEST_ACCOUNT)}/${RECEIPTS.prefix}*`;
      const putTargets = statements
        .filter((s) => s.Effect === 'Allow' && actions(s).includes('s3:PutObject'))
        .flatMap((s) => resourcesOf(s).map((r) => render(template, r, region)));
      expect(putTargets.sort()).toEqual([eventBucket, `${eventBucket}/*`, receipts].sort());
      const onBucket = statements.find((s) =>
        resourcesOf(s).some(
          (r) => render(template, r, region) === eventBucket && actions(s).includes('s3:ListBucket'),
        ),
      );
      expect(actions(onBucket!)).toEqual([...FIREHOSE_S3_DELIVERY_ACTIONS]);
      expect(statements.find((s) => s.Sid === 'UseDirectory')).toMatchObject({
        Action: expect.arrayContaining(['dynamodb:DeleteItem']),
      });
    }
  });

  test('every permission that a role of the stack is granted lies within the boundary', () => {
    for (const location of LOCATIONS)
      expect(outsideBoundary(synth.templates[location]!, location)).toEqual([]);
  });

  test('with several event streams too: the function may write into each, within the boundary', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-boundary-streams-'));
    try {
      const built = synthesizeEdgeVariant('dev', { eventStreams: 3 }, outdir);
      const stack = built.regionalStacks.find((s) => s.location === 'europe')!;
      expect(outsideBoundary(Template.fromStack(stack), 'europe')).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('the boundary takes from 1 to the most streams a stage may have', () => {
    for (const eventStreams of [0, 1.5, LIMITS.maxEventStreams + 1]) {
      const stack = new Stack(undefined, `Streams${String(eventStreams).replace('.', '')}`, {
        env: { region: EU },
      });
      expect(
        () => new PermissionsBoundary(stack, 'Boundary', { stage: 'dev', location: 'europe', eventStreams }),
      ).toThrow(
        `[Streams${String(eventStreams).replace('.', '')}/Boundary] eventStreams must be a whole number from 1 to ${LIMITS.maxEventStreams}, got ${eventStreams}`,
      );
    }
  });
});

/** What a role of the stack is granted outside the stack's boundary (or that the boundary denies). */
function outsideBoundary(template: Template, location: Location): string[] {
  const region = REGIONS[location].aws;
  const boundary = boundaryOf(template);
  const ceiling = boundary
    .filter((s) => s.Effect === 'Allow')
    .map((s) => ({
      actions: actions(s),
      resources: resourcesOf(s).map((r) => iamPattern(render(template, r, region))),
    }));
  const denied = boundary.filter((s) => s.Effect === 'Deny').flatMap((s) => actions(s).map(iamPattern));
  const policies = Object.entries(template.findResources('AWS::IAM::ManagedPolicy')).filter(
    ([, p]) => (p as { Properties: Json }).Properties.Roles !== undefined,
  );
  expect(policies.length).toBeGreaterThanOrEqual(3);
  const outside: string[] = [];
  for (const [id, policy] of policies) {
    const statements = (policy as { Properties: { PolicyDocument: { Statement: StatementJson[] } } })
      .Properties.PolicyDocument.Statement;
    for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
      for (const action of actions(statement)) {
        for (const resource of resourcesOf(statement).map((r) => render(template, r, region))) {
          const allowed = ceiling.some(
            (c) => c.actions.includes(action) && c.resources.some((r) => r.test(resource)),
          );
          if (!allowed || denied.some((d) => d.test(action)))
            outside.push(`${location} ${id} ${statement.Sid}: ${action} on ${resource}`);
        }
      }
    }
  }
  return outside;
}
