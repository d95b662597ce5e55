/**
 * The directory table (`DirectoryTable`): the global table with its replicas, on a bare stack of the
 * directory home (americas) with its key; its replica reference; the stage's recovery period. What the
 * services may do to it is tested with them (ingest-service.test.ts, purge-service.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DIRECTORY, LOCATIONS, names, REGIONS, RETENTION } from '../../../../platform';
import { createApp, readCdkJsonContext } from '../../../../infra/aws/lib/app';
import { DirectoryTable, type IDirectoryTable } from '../../../../infra/aws/lib/constructs/directory-table';
import { STAGES_CONTEXT_KEY } from '../../../../infra/aws/lib/stage-context';
import {
  bareDirectory,
  bareStack,
  type Json,
  only,
  stageConfig,
  type StatementJson,
  TEST_ACCOUNT,
  temporaryOutdir,
  SKIP_BUNDLING,
} from './support';

const EU = REGIONS.europe.aws;

const outdir = temporaryOutdir('cdk-directory');
const config = stageConfig();
let americas: Template;

beforeAll(() => {
  americas = Template.fromStack(bareDirectory(outdir, config).stack);
});

describe('directory', () => {
  test('on demand, PITR and deletion protection on every replica, each with its own region’s key', () => {
    const table = only<Json>(americas, 'AWS::DynamoDB::GlobalTable');
    const aliasArn = (location: 'europe' | 'apac') => ({
      'Fn::Join': [
        '',
        [
          `arn:aws:kms:${REGIONS[location].aws}:`,
          { Ref: 'AWS::AccountId' },
          `:alias/${names.keyAlias('dev', location)}`,
        ],
      ],
    });
    expect(table.props).toMatchObject({
      TableName: names.directoryTable('dev'),
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: DIRECTORY.partitionKey, KeyType: 'HASH' },
        { AttributeName: DIRECTORY.sortKey, KeyType: 'RANGE' },
      ],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    expect(table.resource).toMatchObject({ DeletionPolicy: 'Retain' });
    const replicas = table.props.Replicas as Json[];
    const byRegion = Object.fromEntries(replicas.map((r) => [r.Region, r]));
    expect(Object.keys(byRegion).sort()).toEqual(
      Object.values(REGIONS)
        .map((r) => r.aws)
        .sort(),
    );
    for (const replica of replicas) {
      expect(replica).toMatchObject({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    }
    expect(byRegion[REGIONS.americas.aws]!.SSESpecification).toEqual({
      KMSMasterKeyId: { 'Fn::GetAtt': [only(americas, 'AWS::KMS::Key').id, 'Arn'] },
    });
    expect(byRegion[EU]!.SSESpecification).toEqual({ KMSMasterKeyId: aliasArn('europe') });
    expect(byRegion[REGIONS.apac.aws]!.SSESpecification).toEqual({ KMSMasterKeyId: aliasArn('apac') });
  });

  test('the stage’s point-in-time recovery period on the table and every replica, and a time-to-live', () => {
    expect(config.directoryRecoveryDays).toBe(RETENTION.directoryRecoveryDays);
    const table = only<Json>(americas, 'AWS::DynamoDB::GlobalTable').props;
    const replicas = table.Replicas as Json[];
    expect(replicas).toHaveLength(LOCATIONS.length);
    for (const replica of replicas) {
      expect(replica.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
        RecoveryPeriodInDays: RETENTION.directoryRecoveryDays,
      });
    }
    // Conversion claims carry their expiry; DynamoDB deletes them once it has passed.
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: DIRECTORY.ttlAttribute, Enabled: true });
  });

  test('the table construct refuses a recovery period that would outlast the 90-day promise', () => {
    const stack = new Stack(new App(), 'S', { env: { account: TEST_ACCOUNT, region: REGIONS.americas.aws } });
    const encryptionKey = new kms.Key(stack, 'Key');
    const table = (id: string, recoveryPeriodInDays: number) =>
      new DirectoryTable(stack, id, { tableName: 't', encryptionKey, recoveryPeriodInDays });
    expect(() => table('Long', RETENTION.maxDirectoryRecoveryDays + 1)).toThrow(
      /S\/Long\] recoveryPeriodInDays: must be a whole number of days from 1 to 10/,
    );
    expect(() => table('None', 0)).toThrow(/recoveryPeriodInDays/);
    expect(() => table('Max', RETENTION.maxDirectoryRecoveryDays)).not.toThrow();
  });

  test('a stage that sets directoryRecoveryDays gets that period on every replica', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'trackstack-cdk-pitr-'));
    try {
      const app = createApp({
        context: {
          ...readCdkJsonContext(),
          stage: 'dev',
          [STAGES_CONTEXT_KEY]: { dev: { directoryRecoveryDays: 3 } },
          ...SKIP_BUNDLING,
        },
        outdir,
        builtinCloudFormationValidation: false,
      });
      const home = app.regionalStacks.find((s) => s.directory !== undefined)!;
      const table = only<Json>(Template.fromStack(home), 'AWS::DynamoDB::GlobalTable').props;
      const periods = (table.Replicas as Json[]).map(
        (r) => (r.PointInTimeRecoverySpecification as Json).RecoveryPeriodInDays,
      );
      expect(periods).toEqual([3, 3, 3]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('grants', () => {
  /** A grant's statements as the template renders them, by statement id. */
  function statementsOf(stack: Stack, grant: iam.Grant): Record<string, StatementJson> {
    return Object.fromEntries(
      grant.principalStatements.map((statement) => {
        const json = stack.resolve(statement.toStatementJson()) as StatementJson;
        return [json.Sid, json];
      }),
    );
  }

  test('the table and a replica grant the same statements, each on the table of its own region', () => {
    const home = bareDirectory(outdir, config);
    const homeTable = only(Template.fromStack(home.stack), 'AWS::DynamoDB::GlobalTable').id;
    const replicaStack = bareStack('europe', outdir);
    const replica = DirectoryTable.fromTableName(replicaStack, 'Directory', names.directoryTable('dev'));
    const cases = [
      { stack: home.stack, directory: home.directory as IDirectoryTable, region: REGIONS.americas.aws },
      { stack: replicaStack, directory: replica, region: EU },
    ];
    for (const { stack, directory, region } of cases) {
      const role = () =>
        new iam.Role(stack, `Role${stack.node.children.length}`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        });
      const ingestRole = role();
      const ingest = statementsOf(
        stack,
        directory.grantReadItems(ingestRole).combine(directory.grantWriteDataKeysAndClaims(ingestRole)),
      );
      const purge = statementsOf(stack, directory.grantPurgeAccounts(role()));
      const table = {
        'Fn::Join': [
          '',
          stack === home.stack
            ? [`arn:aws:dynamodb:${region}:`, { Ref: 'AWS::AccountId' }, ':table/', { Ref: homeTable }]
            : [
                `arn:aws:dynamodb:${region}:`,
                { Ref: 'AWS::AccountId' },
                `:table/${names.directoryTable('dev')}`,
              ],
        ],
      };
      for (const statement of [...Object.values(ingest), ...Object.values(purge)]) {
        expect(statement.Resource).toEqual(table);
      }
      expect(Object.keys(ingest)).toEqual([
        'ReadDirectory',
        'StoreDataKeysAndConversionClaims',
        'ReleaseConversionClaims',
      ]);
      expect(Object.keys(purge)).toEqual([
        'FindAccountsAndApiKeys',
        'ReadOwnedItems',
        'RecordProgressOnAccounts',
        'DeleteOwnedItems',
      ]);
      expect(ingest.ReadDirectory!.Condition).toBeUndefined();
      expect(ingest.StoreDataKeysAndConversionClaims!.Condition).toEqual({
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [`${DIRECTORY.dataKeyPk('')}*`, `${DIRECTORY.dedupPk('')}*`],
        },
      });
      expect(ingest.ReleaseConversionClaims!.Condition).toEqual({
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${DIRECTORY.dedupPk('')}*`] },
      });
      // Branch keys: created in the one location's partition only; never by the purge.
      const branchKeys = statementsOf(stack, directory.grantCreateBranchKeys(role(), 'europe'));
      expect(branchKeys).toEqual({
        CreateBranchKeys: expect.objectContaining({
          Action: 'dynamodb:PutItem',
          Resource: table,
          Condition: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [DIRECTORY.branchKeyPk('europe')] },
          },
        }),
      });
      expect(JSON.stringify(purge)).not.toContain(DIRECTORY.branchKeyPk(''));
      expect(() => directory.grantCreateBranchKeys(role(), '*')).toThrow(/location must be a location name/);
      expect(purge.FindAccountsAndApiKeys!.Condition).toBeUndefined();
      expect(purge.RecordProgressOnAccounts!.Condition).toEqual({
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${DIRECTORY.accountPk('')}*`] },
      });
    }
  });
});
