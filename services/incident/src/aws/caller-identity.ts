/**
 * The actor of an action taken against AWS: the caller's identity (STS GetCallerIdentity), so the timeline
 * names the role or user whose credentials made the change, as CloudTrail does.
 */
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';

/** The ARN of the caller (e.g. `arn:aws:sts::123456789012:assumed-role/oncall/alice`). */
export async function callerArn(client: STSClient): Promise<string> {
  let arn: string | undefined;
  try {
    arn = (await client.send(new GetCallerIdentityCommand({}))).Arn;
  } catch (err) {
    throw new Error(`cannot tell who you are on AWS (STS GetCallerIdentity): ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!arn) throw new Error('STS GetCallerIdentity answered without an ARN');
  return arn;
}

/** The 12-digit account of an ARN. */
export function accountOfArn(arn: string): string {
  const account = arn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account)) throw new Error(`no account id in the ARN ${arn}`);
  return account;
}
