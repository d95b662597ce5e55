/**
 * Customer notices on AWS: one Publish to the customer-notice topic (`names.customerNoticeTopic(stage)`)
 * per notice, with the subject, the rendered message, and message attributes naming the account, its
 * contact and the incident, which the topic's subscribers (an SES forwarder, a ticketing hook) route on.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notice, Notifier } from '../core/ports';

/** The message attributes of every notice, for subscribers' filter policies. */
export const NOTICE_ATTRIBUTES = {
  accountId: 'accountId',
  contactEmail: 'contactEmail',
  incidentId: 'incidentId',
} as const;

/** SNS limits a subject to 100 printable ASCII characters. */
const MAX_SUBJECT = 100;

/** {@link Notifier} over an SNS topic. */
export class SnsNotifier implements Notifier {
  readonly description: string;

  constructor(
    private readonly client: SNSClient,
    /** The customer-notice topic's ARN. */
    public readonly topicArn: string,
  ) {
    this.description = `sns:${topicArn}`;
  }

  async send(notice: Notice): Promise<string> {
    const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
    try {
      const out = await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: notice.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_SUBJECT),
          Message: notice.body,
          MessageAttributes: {
            [NOTICE_ATTRIBUTES.accountId]: attribute(notice.accountId),
            [NOTICE_ATTRIBUTES.contactEmail]: attribute(notice.to),
            [NOTICE_ATTRIBUTES.incidentId]: attribute(notice.incidentId),
          },
        }),
      );
      if (!out.MessageId) throw new Error('SNS answered without a message id');
      return `sns message ${out.MessageId}`;
    } catch (err) {
      throw new Error(`the notice could not be published to ${this.topicArn}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
