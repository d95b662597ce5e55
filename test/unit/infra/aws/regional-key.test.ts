/**
 * The regional key (`RegionalKey`) on a bare stack: rotation, retention, alias, and a policy in which
 * administrators manage the key without using it. What the other constructs add to its policy is tested
 * with them (the ingest's data-key statement in ingest-service.test.ts, the purge's in
 * purge-service.test.ts) and, for the whole policy, in regional-stack.test.ts.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { names } from '../../../../platform';
import { RegionalKey } from '../../../../infra/aws/lib/constructs/regional-key';
import { actions, bareStack, keyPolicy, only, temporaryOutdir } from './support';

const CRYPTO = /^kms:(Decrypt|Encrypt|GenerateDataKey|ReEncrypt|CreateGrant|\*)/;
const ROOT = { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] };

const outdir = temporaryOutdir('cdk-key');
let europe: Template;

beforeAll(() => {
  const stack = bareStack('europe', outdir);
  new RegionalKey(stack, 'Key', { aliasName: names.keyAlias('dev', 'europe') });
  europe = Template.fromStack(stack);
});

describe('regional key', () => {
  test('rotates, is retained, and has the platform alias', () => {
    const key = only(europe, 'AWS::KMS::Key');
    expect(key.props).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 30 });
    expect(key.resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    europe.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: `alias/${names.keyAlias('dev', 'europe')}`,
      TargetKeyId: { 'Fn::GetAtt': [key.id, 'Arn'] },
    });
  });

  test('administrators manage the key but cannot use it', () => {
    const admin = keyPolicy(europe).find((s) => s.Sid === 'AccountAdministratorsManageButDoNotUse')!;
    expect(admin.Principal).toEqual({ AWS: ROOT });
    expect(actions(admin)).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion']));
    expect(actions(admin).filter((a) => CRYPTO.test(a))).toEqual([]);
    expect(admin.Condition).toBeUndefined();
  });
});
