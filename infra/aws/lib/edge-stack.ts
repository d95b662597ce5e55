/**
 * The edge stack of a stage, in us-east-1: the CloudFront distribution in front of every location's
 * ingest origin, its routing function and key value store, the config bucket that serves the snippet and
 * the campaign configs, the web ACL, the health check, the logs and the key.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import type { Construct } from 'constructs';
import {
  EDGE_STACK_OUTPUTS,
  type Location,
  names,
  PRIMARY_LOCATION,
  REGIONS,
  type StageConfig,
} from '../../../platform';
import { AlarmTopic } from './constructs/alarm-topic';
import { ConfigBucket } from './constructs/edge/config-bucket';
import { EdgeDistribution, type EdgeDomain } from './constructs/edge/edge-distribution';
import { EdgeKey } from './constructs/edge/edge-key';
import { EdgeLogBuckets } from './constructs/edge/edge-log-buckets';
import { EdgeHealthCheck } from './constructs/edge/health-check';
import { EdgeWebAcl } from './constructs/edge/web-acl';
import { currentSnippetObjectKey } from './constructs/edge/snippet';
import { awsNames } from './naming';

/** Properties of {@link EdgeStack}. */
export interface EdgeStackProps extends StackProps {
  /** The validated configuration of the stage. */
  readonly config: StageConfig;
  /**
   * Each deployed location's ingest Function URL host name (`IngestService.functionUrlDomain`), in the
   * stage's order. They live in the regional stacks: the stack needs `crossRegionReferences` (and so do they).
   */
  readonly ingestOrigins: ReadonlyMap<Location, string>;
  /**
   * The config bucket key of the snippet version to serve.
   * @default - the key of `services/ingest/static/snippet.js` as it is now (`currentSnippetObjectKey`)
   */
  readonly snippetObjectKey?: string;
}

/**
 * One per stage, in us-east-1 (CloudFront reads certificates, web ACLs and its functions' stores there).
 * Everything it creates is public, for the tests and for the tools that find it through its outputs
 * (`EDGE_STACK_OUTPUTS`).
 */
export class EdgeStack extends Stack {
  /** The edge key: the config bucket and the CDN's access logs. */
  public readonly key: EdgeKey;
  /** The CDN's access log bucket and the S3 access log bucket of the edge's buckets. */
  public readonly logs: EdgeLogBuckets;
  /** The config bucket: the snippet's versions and the published campaign configs. */
  public readonly configBucket: ConfigBucket;
  /** The edge store: locations marked down, accounts' home locations, revoked API keys. */
  public readonly keyValueStore: cloudfront.KeyValueStore;
  /** The web ACL (scope CLOUDFRONT) of the distribution, with its encrypted logs. */
  public readonly webAcl: EdgeWebAcl;
  /** The distribution, its functions and policies. */
  public readonly edge: EdgeDistribution;
  /**
   * The custom domain's certificate: the stage's `certificateArn`, else one requested here and validated
   * through DNS in the stage's hosted zone; none without a domain.
   */
  public readonly certificate?: acm.ICertificate;
  /** The alias records of the custom domain, when the stage names its hosted zone. */
  public readonly aliasRecords?: readonly route53.IRecordSet[];
  /** The topic the health check's alarms notify. */
  public readonly alarmTopic: AlarmTopic;
  /** The scheduled check that keeps the store's `down` key current by probing each location. */
  public readonly healthCheck: EdgeHealthCheck;
  /** Where viewers reach the edge: the custom domain, else the distribution's `*.cloudfront.net` name. */
  public readonly edgeDomainName: string;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { stage } = config;
    if (this.region !== REGIONS[PRIMARY_LOCATION].aws) {
      throw new Error(
        `[${this.node.path}] env.region must be ${REGIONS[PRIMARY_LOCATION].aws}: CloudFront's region`,
      );
    }

    this.key = new EdgeKey(this, 'Key', { aliasName: awsNames.edgeKeyAlias(stage) });
    this.logs = new EdgeLogBuckets(this, 'Logs', {
      cdnLogBucketName: awsNames.cdnLogBucket(stage, this.account),
      encryptionKey: this.key.key,
    });
    this.configBucket = new ConfigBucket(this, 'ConfigBucket', {
      bucketName: names.configBucket(stage, this.account),
      encryptionKey: this.key.key,
      accessLogBucket: this.logs.accessLogBucket,
    });
    this.keyValueStore = new cloudfront.KeyValueStore(this, 'Store', {
      comment: `Trackstack ${stage} edge store: down locations, home locations, revoked API keys`,
    });

    this.webAcl = new EdgeWebAcl(this, 'WebAcl', {
      stage,
      encryptionKey: this.key.key,
      logRetentionDays: config.logRetentionDays,
      ipRequestsPer5Min: config.wafIpRequestsPer5Min,
      apiKeyRequestsPer5Min: config.wafApiKeyRequestsPer5Min,
    });

    const { domainName, certificateArn, hostedZoneId } = config;
    const zone = hostedZoneId ? route53.HostedZone.fromHostedZoneId(this, 'Zone', hostedZoneId) : undefined;
    if (domainName !== undefined && certificateArn !== undefined) {
      this.certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', certificateArn);
    } else if (domainName !== undefined) {
      if (zone === undefined) {
        // The stage schema refuses this already; a direct caller gets the same message.
        throw new Error(`[${this.node.path}] domainName ${domainName} needs certificateArn or hostedZoneId`);
      }
      this.certificate = new acm.Certificate(this, 'Certificate', {
        domainName,
        validation: acm.CertificateValidation.fromDns(zone),
      });
    }
    const domain: EdgeDomain | undefined =
      domainName !== undefined && this.certificate
        ? { domainName, certificate: this.certificate }
        : undefined;
    this.edge = new EdgeDistribution(this, 'Cdn', {
      ingestOrigins: props.ingestOrigins,
      homeLocations: config.homeLocations,
      keyValueStore: this.keyValueStore,
      configBucket: this.configBucket.bucketByName(this, 'ConfigBucketByName'),
      logBucket: this.logs.cdnLogBucketByName(this, 'CdnLogBucketByName'),
      snippetObjectKey: props.snippetObjectKey ?? currentSnippetObjectKey(),
      domain,
      webAclArn: this.webAcl.webAclArn,
      priceClass:
        stage === 'prod' ? cloudfront.PriceClass.PRICE_CLASS_ALL : cloudfront.PriceClass.PRICE_CLASS_100,
    });
    const { distribution } = this.edge;
    this.configBucket.allowDistributionRead(distribution.distributionArn);
    this.edgeDomainName = domain?.domainName ?? distribution.distributionDomainName;

    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      encryptionKey: this.key.key,
      email: config.alarmEmail,
      displayName: `Trackstack ${stage} edge alarms`,
    });
    this.healthCheck = new EdgeHealthCheck(this, 'HealthCheck', {
      stage,
      locations: config.locations,
      // The distribution's own name, not the custom domain: the probes must not depend on DNS the stage
      // may manage elsewhere.
      edgeUrl: `https://${distribution.distributionDomainName}`,
      keyValueStore: this.keyValueStore,
      encryptionKey: this.key.key,
      logRetentionDays: config.logRetentionDays,
      alarmTopic: this.alarmTopic.topic,
    });

    if (domain && zone) {
      const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(distribution));
      // A trailing dot makes the name absolute, so the zone's own name is never needed.
      const recordName = `${domain.domainName}.`;
      this.aliasRecords = [
        new route53.ARecord(this, 'AliasIpv4', { zone, recordName, target }),
        new route53.AaaaRecord(this, 'AliasIpv6', { zone, recordName, target }),
      ];
    }

    new CfnOutput(this, EDGE_STACK_OUTPUTS.configBucket, {
      description: 'The config bucket: publish-config writes config/ and snippet/ objects here',
      value: this.configBucket.bucket.bucketName,
    });
    new CfnOutput(this, EDGE_STACK_OUTPUTS.distributionId, {
      description: 'The distribution, for invalidations',
      value: distribution.distributionId,
    });
    new CfnOutput(this, EDGE_STACK_OUTPUTS.domainName, {
      description: 'Where customers pages load the snippet and send hits',
      value: this.edgeDomainName,
    });
    new CfnOutput(this, EDGE_STACK_OUTPUTS.keyValueStoreArn, {
      description: 'The edge store (CloudFront KeyValueStore) that the router function reads',
      value: this.keyValueStore.keyValueStoreArn,
    });
  }
}
