/**
 * The promises of the published data-handling policy (DESIGN.md section 0; the README's "Privacy and security"
 * and "Data lifecycle" sections), each with the rules that enforce it. A rule is listed only where its
 * failure would break the promise; the comments say why where that is not obvious, and why some
 * neighbouring rules are left out.
 */
import type { CustomerPromise } from './customer-promise';
import { GDPR } from './gdpr';

/** The data-handling policy, one precise promise at a time. */
export const DATA_HANDLING_PROMISES: readonly CustomerPromise[] = [
  {
    id: 'front-end-only',
    title: "Only the front end of a customer's site is touched",
    policy: 'data-handling',
    statement:
      "The platform touches only the front end of a customer's site, through a tag in the page head, and never its backend or database.",
    gdpr: [GDPR.dataMinimisation, GDPR.dataProtectionByDesign],
    // A property of the snippet and the tags, not of any cloud resource: no infrastructure rule can see it.
    rules: [],
  },
  {
    id: 'consent-respected',
    title: 'Without consent, no personal field is stored',
    policy: 'data-handling',
    statement:
      'When a visitor withholds consent (Do Not Track, Global Privacy Control or the opt-out cookie), their IP address, user agent, click ids and query strings are dropped before anything is stored.',
    gdpr: [GDPR.dataMinimisation, GDPR.dataProtectionByDesign],
    // The ingest service's code does this; its tests, not a compliance rule, hold it.
    rules: [],
  },
  {
    id: 'personal-fields-sealed',
    title: 'Personal fields are sealed per account with AES-256-GCM',
    policy: 'data-handling',
    statement:
      "Personal fields are encrypted with AES-256-GCM under the account's own data key, bound to the account id, before they leave the ingest service.",
    gdpr: [GDPR.securityOfProcessing, GDPR.integrityConfidentiality],
    // Envelope encryption in the service's code; the storage rules below see only the layer beneath it.
    rules: [],
  },
  {
    id: 'encrypted-at-rest',
    title: 'Stored data is encrypted at rest under customer-managed keys',
    policy: 'data-handling',
    statement:
      'Events, the stream buffer, the directory, logs, notices and queues are encrypted at rest with AES-256 under keys the platform manages itself (AWS KMS, Cloud KMS), not provider-owned defaults; the one exception is the access-log buckets, which AWS can deliver only into S3-managed AES-256 encryption.',
    gdpr: [GDPR.securityOfProcessing, GDPR.integrityConfidentiality],
    // The access-log buckets' exception shows in the scan as acknowledged findings of the three
    // S3DefaultEncryptionKMS rules. The DynamoDB tables are TableV2 (AWS::DynamoDB::GlobalTable), which no
    // cdk-nag 3 rule checks; their customer-managed keys rest on the constructs' tests.
    rules: [
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
      'PCI.DSS.321-S3DefaultEncryptionKMS',
      'HIPAA.Security-S3DefaultEncryptionKMS',
      // Firehose buffers whole events before they reach the bucket.
      'AwsSolutions-KDF1',
      // The log groups hold client addresses (the API-key authentication lines) and request metadata.
      'NIST.800.53.R5-CloudWatchLogGroupEncrypted',
      'PCI.DSS.321-CloudWatchLogGroupEncrypted',
      'HIPAA.Security-CloudWatchLogGroupEncrypted',
      // The customer-notice and on-call topics carry contact addresses and incident details.
      'NIST.800.53.R5-SNSEncryptedKMS',
      'PCI.DSS.321-SNSEncryptedKMS',
      'HIPAA.Security-SNSEncryptedKMS',
      // Dead-letter queues keep failed invocations' payloads, which name accounts and keys.
      'AwsSolutions-SQS2',
      // GCP: every bucket and topic under a Cloud KMS key (CMEK)...
      'gcp-cmek-on-buckets-and-topics',
      // ...and that key is symmetric GOOGLE_SYMMETRIC_ENCRYPTION, which is what makes it AES-256.
      'gcp-kms-key-symmetric-rotated-90-days',
    ],
  },
  {
    id: 'keys-rotated',
    title: 'Encryption keys rotate automatically',
    policy: 'data-handling',
    statement:
      'The keys that protect stored data rotate automatically: yearly on AWS KMS and at least every 90 days on Cloud KMS.',
    gdpr: [GDPR.securityOfProcessing],
    // HIPAA Security has no key-rotation rule in cdk-nag 3; the other three packs do.
    rules: [
      'AwsSolutions-KMS5',
      'NIST.800.53.R5-KMSBackingKeyRotationEnabled',
      'PCI.DSS.321-KMSBackingKeyRotationEnabled',
      'gcp-kms-key-symmetric-rotated-90-days',
    ],
  },
  {
    id: 'no-human-decrypt',
    title: 'No human role can decrypt stored events',
    policy: 'data-handling',
    statement:
      'Platform staff do not read customer data: administrators manage the keys but cannot use them, and only the service roles can decrypt stored events.',
    gdpr: [GDPR.integrityConfidentiality, GDPR.securityOfProcessing, GDPR.processor],
    // The packs of AWS only check that keys exist and rotate; who may decrypt is the project's own rule.
    rules: ['Trackstack-KMSKeyAdminCannotDecrypt'],
  },
  {
    id: 'break-glass-alarmed',
    title: 'Using a break-glass role raises an alarm',
    policy: 'data-handling',
    statement:
      'Where a stage defines a break-glass role that can decrypt customer data, every use of it raises an alarm to on-call.',
    gdpr: [GDPR.integrityConfidentiality, GDPR.accountability],
    // No rule ties a decrypting role to an alarm; the security stack's tests do.
    rules: [],
  },
  {
    id: 'least-privilege',
    title: 'Every role has only the access its work needs',
    policy: 'data-handling',
    statement:
      'Every role the platform creates is scoped to its own resources: no wildcard, administrator or full-service grants, no broad managed policies, and a permissions boundary that caps what any policy could add.',
    gdpr: [GDPR.securityOfProcessing, GDPR.dataProtectionByDesign],
    // Left out: IAMNoInlinePolicy (each pack) flags every AWS::IAM::Policy, i.e. every CDK grant; it asks for
    // managed policies, a matter of administration rather than of how much a role may do. The IAM user rules
    // are left out too: the platform creates no IAM users.
    rules: [
      // AWS managed policies grant more than one function needs and change without our review.
      'AwsSolutions-IAM4',
      'AwsSolutions-IAM5',
      'NIST.800.53.R5-IAMPolicyNoStatementsWithAdminAccess',
      'PCI.DSS.321-IAMPolicyNoStatementsWithAdminAccess',
      'HIPAA.Security-IAMPolicyNoStatementsWithAdminAccess',
      'NIST.800.53.R5-IAMPolicyNoStatementsWithFullAccess',
      'PCI.DSS.321-IAMPolicyNoStatementsWithFullAccess',
      'HIPAA.Security-IAMPolicyNoStatementsWithFullAccess',
      'Trackstack-IAMRoleHasPermissionsBoundary',
      // GCP: owner, editor and viewer are project-wide.
      'gcp-no-primitive-roles',
    ],
  },
  {
    id: 'no-public-access',
    title: 'Stored data and the services are never public',
    policy: 'data-handling',
    statement:
      'No bucket is readable or writable by the public, and the ingest functions and the config bucket are reachable only through the CDN.',
    gdpr: [GDPR.integrityConfidentiality, GDPR.securityOfProcessing],
    rules: [
      'AwsSolutions-S2',
      'NIST.800.53.R5-S3BucketLevelPublicAccessProhibited',
      'PCI.DSS.321-S3BucketLevelPublicAccessProhibited',
      'HIPAA.Security-S3BucketLevelPublicAccessProhibited',
      'NIST.800.53.R5-S3BucketPublicReadProhibited',
      'PCI.DSS.321-S3BucketPublicReadProhibited',
      'HIPAA.Security-S3BucketPublicReadProhibited',
      'NIST.800.53.R5-S3BucketPublicWriteProhibited',
      'PCI.DSS.321-S3BucketPublicWriteProhibited',
      'HIPAA.Security-S3BucketPublicWriteProhibited',
      // A function permission for '*' would let anyone invoke it around the CDN and its WAF.
      'NIST.800.53.R5-LambdaFunctionPublicAccessProhibited',
      'PCI.DSS.321-LambdaFunctionPublicAccessProhibited',
      'HIPAA.Security-LambdaFunctionPublicAccessProhibited',
      // Origin access control: CloudFront signs its requests, so the config bucket need not be public.
      'AwsSolutions-CFR7',
      'gcp-bucket-uniform-access-and-public-access-prevention',
      'gcp-public-invoker-only-through-load-balancer',
    ],
  },
  {
    id: 'encrypted-in-transit',
    title: 'Data in transit is encrypted with TLS',
    policy: 'data-handling',
    statement:
      'Data travels only over TLS: viewers reach the CDN with TLS 1.2 or later (on a stage with its own domain; the default CloudFront certificate still admits TLS 1.0), the CDN reaches its origins over TLS, and the storage, topics and queues refuse requests without it.',
    gdpr: [GDPR.securityOfProcessing, GDPR.integrityConfidentiality],
    // The GCP pack has no TLS rule: the load balancer's HTTPS-only front end is built by the program and
    // checked by its tests, not by a policy.
    rules: [
      'AwsSolutions-CFR4',
      'AwsSolutions-CFR5',
      'AwsSolutions-S10',
      'NIST.800.53.R5-S3BucketSSLRequestsOnly',
      'PCI.DSS.321-S3BucketSSLRequestsOnly',
      'HIPAA.Security-S3BucketSSLRequestsOnly',
      'AwsSolutions-SNS3',
      'AwsSolutions-SQS4',
    ],
  },
  {
    id: 'waf-protected',
    title: 'The CDN is behind a web application firewall',
    policy: 'data-handling',
    statement:
      'Every hit passes a web application firewall (AWS WAF, Cloud Armor) with managed rules and rate limits per address and per API key before it reaches a region.',
    gdpr: [GDPR.securityOfProcessing],
    rules: ['AwsSolutions-CFR2', 'gcp-cloud-armor-on-public-backends'],
  },
  {
    id: 'api-keys-hashed',
    title: 'Only a hash of an API key is stored',
    policy: 'data-handling',
    statement:
      "Only a SHA-256 hash of an API key is stored, and no log line the services write carries a key's secret.",
    gdpr: [GDPR.securityOfProcessing],
    // Service code; no infrastructure rule sees what a table item or a log line holds.
    rules: [],
  },
  {
    id: 'data-durable',
    title: 'Stored data survives faults and mistakes',
    policy: 'data-handling',
    statement:
      'Stored data survives faults and operator mistakes: buckets are versioned, the directory and incident tables can be restored to a point in time, and no deployment can delete a key that data depends on.',
    gdpr: [GDPR.securityOfProcessing],
    // Left out on purpose: S3BucketReplicationEnabled, which would copy an account's events out of its home
    // location, and DynamoDBInBackupPlan, whose backups would keep shredded data keys (and so a purged
    // account's data) readable for as long as the plan keeps them. Left out because they check nothing we
    // deploy: AwsSolutions-DDB3 and DynamoDBPITREnabled look at AWS::DynamoDB::Table only, and both tables
    // are TableV2 (AWS::DynamoDB::GlobalTable); their point-in-time recovery rests on the constructs' tests.
    rules: [
      'NIST.800.53.R5-S3BucketVersioningEnabled',
      'PCI.DSS.321-S3BucketVersioningEnabled',
      'HIPAA.Security-S3BucketVersioningEnabled',
      // A deleted key makes every event and data key under it unreadable: loss, not erasure.
      'Trackstack-KMSKeyRetained',
      // cfn-lint: a resource retained on deletion but not on replacement is deleted by the first change that
      // replaces it, the quiet way a deployment loses a bucket or a key.
      'W3011',
    ],
  },
  {
    id: 'cdn-fault-tolerant',
    title: 'The CDN serves from three locations and survives the loss of one',
    policy: 'data-handling',
    statement:
      'The CDN serves from three locations (Americas, Europe, Asia-Pacific) on AWS and on GCP, and routes each hit to the nearest healthy region.',
    gdpr: [GDPR.securityOfProcessing],
    // Health checks and failover are built by the stacks and tested there; no pack rule checks them.
    rules: [],
  },
  {
    id: 'data-residency',
    title: "An account's data stays in its home location",
    policy: 'data-handling',
    statement:
      "The events of an account with a home location are routed to, processed and stored in that location's region only.",
    gdpr: [GDPR.transfers],
    // The edge router's choice, tested with the edge function; no rule compares an account with a region.
    rules: [],
  },
  {
    id: 'log-retention-bounded',
    title: 'Logs are kept for a bounded period',
    policy: 'data-handling',
    statement: 'Every log the platform writes is kept for a stated, bounded period and then deleted.',
    gdpr: [GDPR.storageLimitation],
    // An explicit retention is what makes it bounded: a log group without one keeps everything forever.
    rules: [
      'NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod',
      'PCI.DSS.321-CloudWatchLogGroupRetentionPeriod',
      'HIPAA.Security-CloudWatchLogGroupRetentionPeriod',
    ],
  },
  {
    id: 'deleted-after-expiry',
    title: 'Data is deleted 45 to 90 days after the account expires',
    policy: 'data-handling',
    statement:
      "An account's data is kept while the account is active and deleted between 45 and 90 days after it expires, its keys shredded first so that replicas and backups are unreadable at once.",
    gdpr: [GDPR.storageLimitation, GDPR.erasure, GDPR.processor],
    // The purge job and its overdue alarm keep this; no pack rule knows an account's expiry.
    rules: [],
  },
  {
    id: 'deletion-on-request',
    title: "A customer can have their account's data deleted sooner",
    policy: 'data-handling',
    statement:
      "A customer can ask for their account's data to be deleted before the 45 days, and it is purged the same way, with the same receipt.",
    gdpr: [GDPR.erasure, GDPR.processor],
    rules: [],
  },
];
