/**
 * The promises of the published breach policy (DESIGN.md sections 0 and 8; the README's "Breach response"):
 * detect and investigate, contain at once, tell the affected customers, resolve. Detection is infrastructure
 * and has rules; containment, notice and resolution are the incident service's work, checked by its tests,
 * and are listed with no rule so that the scan shows them as such.
 */
import type { CustomerPromise } from './customer-promise';
import { GDPR } from './gdpr';

/** The breach-response policy, one precise promise at a time. */
export const BREACH_RESPONSE_PROMISES: readonly CustomerPromise[] = [
  {
    id: 'audit-trail',
    title: 'Every API call is recorded in a tamper-evident audit trail',
    policy: 'breach-response',
    statement:
      "Every API call in the platform's cloud accounts is recorded in an encrypted audit trail whose files can be proven unaltered, with a copy investigators can search.",
    gdpr: [GDPR.securityOfProcessing, GDPR.breachNotificationAuthority, GDPR.accountability],
    // The three packs that check CloudTrail; AwsSolutions has no trail rule.
    rules: [
      // The searchable copy the alarms' metric filters read.
      'NIST.800.53.R5-CloudTrailCloudWatchLogsEnabled',
      'PCI.DSS.321-CloudTrailCloudWatchLogsEnabled',
      'HIPAA.Security-CloudTrailCloudWatchLogsEnabled',
      'NIST.800.53.R5-CloudTrailEncryptionEnabled',
      'PCI.DSS.321-CloudTrailEncryptionEnabled',
      'HIPAA.Security-CloudTrailEncryptionEnabled',
      // Digest files: an intruder who edits a log file to hide a call is found out.
      'NIST.800.53.R5-CloudTrailLogFileValidationEnabled',
      'PCI.DSS.321-CloudTrailLogFileValidationEnabled',
      'HIPAA.Security-CloudTrailLogFileValidationEnabled',
    ],
  },
  {
    id: 'access-logged',
    title: 'Access to stored data, the CDN and the firewall is logged',
    policy: 'breach-response',
    statement:
      'Every request to a bucket, every request the CDN serves and every decision of the web application firewall is logged, so an investigation can tell who reached what and when.',
    gdpr: [GDPR.securityOfProcessing, GDPR.breachNotificationAuthority],
    rules: [
      'AwsSolutions-S1',
      'NIST.800.53.R5-S3BucketLoggingEnabled',
      'PCI.DSS.321-S3BucketLoggingEnabled',
      'HIPAA.Security-S3BucketLoggingEnabled',
      'AwsSolutions-CFR3',
      'NIST.800.53.R5-WAFv2LoggingEnabled',
      'PCI.DSS.321-WAFv2LoggingEnabled',
      'HIPAA.Security-WAFv2LoggingEnabled',
    ],
  },
  {
    id: 'breach-alarms',
    title: 'Suspicious activity alerts on-call at once',
    policy: 'breach-response',
    statement:
      'Root use, unauthorized calls, changes to policies, keys, the trail or the firewall, and unusual use of an API key raise an alarm to on-call within minutes.',
    gdpr: [GDPR.breachNotificationAuthority, GDPR.securityOfProcessing],
    // These rules check only that every alarm notifies someone: an alarm without an action detects nothing
    // anyone hears of. Which alarms exist is checked by the security stack's tests, not by a rule.
    rules: ['NIST.800.53.R5-CloudWatchAlarmAction', 'HIPAA.Security-CloudWatchAlarmAction'],
  },
  {
    id: 'key-contained',
    title: 'A compromised API key is disabled at once',
    policy: 'breach-response',
    statement:
      'A compromised API key is revoked in every region and at the edge, and refused everywhere within 60 seconds.',
    gdpr: [GDPR.breachNotificationAuthority, GDPR.securityOfProcessing],
    // The incident service does it (by hand or from an alarm); its tests hold the 60 seconds.
    rules: [],
  },
  {
    id: 'customers-notified-72h',
    title: 'Affected customers are told within 72 hours',
    policy: 'breach-response',
    statement:
      'A customer whose data a breach may affect is told within 72 hours of its detection what happened and what to do (generate a new API key), so that they can meet their own obligations as controller.',
    gdpr: [GDPR.breachNotificationAuthority, GDPR.breachNotificationSubject, GDPR.processor],
    // A clock on incident records, kept by the incident service and its overdue alarm; no rule can see it.
    rules: [],
  },
  {
    id: 'incidents-recorded',
    title: 'Every incident is recorded with its timeline',
    policy: 'breach-response',
    statement:
      'Every incident is recorded with who did what and when (detected, contained, notified, resolved), and the record holds no personal data.',
    gdpr: [GDPR.breachNotificationAuthority, GDPR.accountability],
    // Article 33(5) asks for this documentation; the incident store's durability falls under data-durable.
    rules: [],
  },
  {
    id: 'incident-resolved',
    title: 'An incident ends with a replacement key and stronger controls',
    policy: 'breach-response',
    statement:
      'An incident is closed only once the customer has a replacement key and a summary records what was strengthened.',
    gdpr: [GDPR.securityOfProcessing, GDPR.breachNotificationAuthority],
    rules: [],
  },
];
