/**
 * What every permissions boundary of the project allows a function: writing its own logs and its traces.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * The boundary statements every function needs.
 * @param logGroupArns the ARNs (`…:log-group:<name>:*`) of the log groups the boundary's roles write
 */
export function functionBaseStatements(logGroupArns: string | readonly string[]): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: typeof logGroupArns === 'string' ? [logGroupArns] : [...logGroupArns],
    }),
    // X-Ray segments name no resource: PutTraceSegments offers nothing narrower than `*`.
    new iam.PolicyStatement({
      sid: 'WriteTraces',
      actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      resources: ['*'],
    }),
  ];
}

/**
 * The denial every permissions boundary ends with: no role of the project may touch IAM, the account or the
 * organization, or assume another role, whatever its allow list becomes. Last in the document: cdk-nag's
 * full-access check reads a wildcard action followed by any later Allow as one statement.
 */
export function neverEscalate(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'NeverEscalate',
    effect: iam.Effect.DENY,
    actions: ['account:*', 'iam:*', 'organizations:*', 'sts:AssumeRole'],
    resources: ['*'],
  });
}
