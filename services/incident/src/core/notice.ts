/**
 * The message an affected customer receives (`notify`): what happened and when, which key, what was done,
 * that they should generate a new key, and whom to contact. Rendered from the incident record only, so the
 * same text goes to the SNS topic and the local outbox, and a test can read it whole.
 */
import { RETENTION } from '../../../../platform';
import { stepsOf, type Incident } from './model';

/** Where customers reach the platform's security team; named in every notice and in the README runbook. */
export const SECURITY_CONTACT = 'security@trackstack.example';

/** A rendered notice. */
export interface RenderedNotice {
  readonly subject: string;
  readonly body: string;
}

/** `2026-05-01 10:02 UTC`: minutes are enough for a customer, and UTC avoids ambiguity. */
function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Renders the notice of an incident (its contained and rotated steps so far). */
export function renderNotice(incident: Incident): RenderedNotice {
  const revoked = stepsOf(incident, 'contained').filter((s) => s.keyId);
  const rotated = stepsOf(incident, 'rotated').filter((s) => s.newKeyId);
  const keys =
    incident.keyIds.length === 0
      ? ['  No API key of yours is involved.']
      : incident.keyIds.map((k) => `  API key id ${k} (the public part of the key: tsk_${k}_…)`);
  const done = [
    ...revoked.map(
      (s) => `  - ${when(s.at)}: we revoked API key ${s.keyId}. Every request presenting it is now refused.`,
    ),
    ...rotated.map(
      (s) =>
        `  - ${when(s.at)}: we issued a replacement key (id ${s.newKeyId}); it reaches you separately, never by e-mail.`,
    ),
  ];
  if (done.length === 0)
    done.push('  - We are investigating; we will write again when we have taken action.');
  const personal = incident.affectsPersonalData
    ? [
        '',
        'Personal data',
        `  Personal data sent with your hits may have been exposed. We notify you within ${RETENTION.breachNotificationHours} hours`,
        '  of detection, so that you can meet your own obligations as controller (GDPR articles 33 and 34).',
      ]
    : [];
  const body = [
    `Dear customer (account ${incident.accountId}),`,
    '',
    'What happened',
    `  On ${when(incident.detectedAt)} we detected a security incident affecting your account:`,
    `  ${incident.summary}`,
    '',
    'Which API key',
    ...keys,
    '',
    'What we did',
    ...done,
    '',
    'What you should do',
    '  Generate a new API key and replace the old one in every system that sends postbacks to us; requests',
    '  with a revoked key are refused. Never send a key by e-mail or put it in a URL.',
    ...personal,
    '',
    'Whom to contact',
    `  Our security team: ${SECURITY_CONTACT}. Please quote the reference ${incident.id}.`,
    '',
  ].join('\n');
  return { subject: `Security incident ${incident.id} affecting your Trackstack account`, body };
}
