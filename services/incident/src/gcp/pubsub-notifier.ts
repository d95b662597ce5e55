/**
 * Customer notices on GCP: one message per notice on the customer-notice topic
 * (`names.gcpCustomerNoticeTopic(stage)`), its data the rendered message, with the attributes the SNS
 * notifier sets (account, contact, incident) plus the subject, which Pub/Sub has no field for; the
 * topic's subscribers (a mail forwarder, a ticketing hook) filter and route on them.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { NOTICE_ATTRIBUTES } from '../aws/sns-notifier';
import type { Notice, Notifier } from '../core/ports';

/** The attribute carrying the notice's subject. */
export const NOTICE_SUBJECT_ATTRIBUTE = 'subject';

/** {@link Notifier} over a Pub/Sub topic. */
export class PubSubNotifier implements Notifier {
  readonly description: string;

  constructor(
    private readonly client: PubSub,
    /** The topic's short name, in the client's project. */
    public readonly topicName: string,
  ) {
    if (!topicName || topicName.includes('/'))
      throw new Error(`PubSubNotifier: give the topic's short name, not "${topicName}"`);
    this.description = `pubsub:projects/${client.projectId}/topics/${topicName}`;
  }

  async send(notice: Notice): Promise<string> {
    try {
      const id = await this.client.topic(this.topicName).publishMessage({
        data: Buffer.from(notice.body, 'utf8'),
        attributes: {
          [NOTICE_ATTRIBUTES.accountId]: notice.accountId,
          [NOTICE_ATTRIBUTES.contactEmail]: notice.to,
          [NOTICE_ATTRIBUTES.incidentId]: notice.incidentId,
          [NOTICE_SUBJECT_ATTRIBUTE]: notice.subject,
        },
      });
      return `pubsub message ${id}`;
    } catch (err) {
      throw new Error(`the notice could not be published to ${this.description}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
