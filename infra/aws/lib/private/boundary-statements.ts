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
