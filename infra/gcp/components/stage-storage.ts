/**
 * The stage-wide buckets, in the primary location's region under its key: the config bucket (the CDN's
 * origin for the snippet and campaign configs), the purge receipts bucket (a locked retention policy: no
 * one can delete or replace a receipt before it lapses) and the functions' source archives; and the
 * account Cloud Build builds every function as.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { names, RETENTION, type Stage } from '../../../platform';
import type { GcpServiceName } from '../../build/bundle';
import type { BundleSource } from '../bundles';
import { privateBucketArgs, VERSIONED_BUCKET_ARGS } from './bucket-args';
import type { RegionalKey } from './regional-key';

/** Properties of {@link StageStorage}. */
export interface StageStorageProps {
  readonly project: string;
  readonly stage: Stage;
  /** The primary location's region. */
  readonly region: string;
  /** That region's key. */
  readonly key: RegionalKey;
}

/** The stage's config, receipts and source buckets, and the build account. */
export class StageStorage extends pulumi.ComponentResource {
  /** Snippet and configs, served by Cloud CDN. */
  public readonly configBucket: gcp.storage.Bucket;
  /** Purge receipts, write-once. */
  public readonly receiptsBucket: gcp.storage.Bucket;
  /** Function source archives. */
  public readonly sourceBucket: gcp.storage.Bucket;
  /** The account Cloud Build runs the functions' builds as (instead of the broad default compute account). */
  public readonly buildAccount: gcp.serviceaccount.Account;

  private readonly archives = new Map<GcpServiceName, gcp.storage.BucketObject>();
  private readonly baseName: string;

  constructor(name: string, props: StageStorageProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:StageStorage', name, {}, opts);
    this.baseName = name;
    const common = privateBucketArgs(props.project, props.region, props.key);
    const childOpts = { parent: this, dependsOn: props.key.agentGrants };
    const versioned = VERSIONED_BUCKET_ARGS;
    this.configBucket = new gcp.storage.Bucket(
      `${name}-config`,
      { ...common, ...versioned, name: names.gcpConfigBucket(props.stage, props.project) },
      childOpts,
    );
    this.sourceBucket = new gcp.storage.Bucket(
      `${name}-sources`,
      { ...common, ...versioned, name: names.gcpSourceBucket(props.stage, props.project) },
      childOpts,
    );
    // A locked retention policy cannot be shortened or removed, nor the bucket deleted while it holds
    // receipts: the counterpart of S3 Object Lock in compliance mode. Versioning cannot be combined with it.
    this.receiptsBucket = new gcp.storage.Bucket(
      `${name}-receipts`,
      {
        ...common,
        name: names.gcpReceiptsBucket(props.stage, props.project),
        retentionPolicy: { retentionPeriod: String(RETENTION.receiptRetentionDays * 86_400), isLocked: true },
      },
      { ...childOpts, protect: true },
    );
    this.buildAccount = new gcp.serviceaccount.Account(
      `${name}-build`,
      {
        project: props.project,
        accountId: names.gcpServiceAccount(props.stage, 'build'),
        displayName: 'Builds the Trackstack functions',
      },
      { parent: this },
    );
    const builder = pulumi.interpolate`serviceAccount:${this.buildAccount.email}`;
    new gcp.storage.BucketIAMMember(
      `${name}-build-reads-sources`,
      { bucket: this.sourceBucket.name, role: 'roles/storage.objectViewer', member: builder },
      { parent: this },
    );
    new gcp.projects.IAMMember(
      `${name}-build-logs`,
      { project: props.project, role: 'roles/logging.logWriter', member: builder },
      { parent: this },
    );
    this.registerOutputs({
      configBucket: this.configBucket.name,
      receiptsBucket: this.receiptsBucket.name,
      sourceBucket: this.sourceBucket.name,
    });
  }

  /**
   * The source archive of a bundle in the source bucket, uploaded once for every function that runs it
   * (the three regional ingest functions share one), named by the bundle's content hash so that a changed
   * bundle is a new object and makes its functions rebuild.
   */
  sourceArchive(bundle: GcpServiceName, bundles: BundleSource): gcp.storage.BucketObject {
    let archive = this.archives.get(bundle);
    if (!archive) {
      const built = bundles(bundle);
      archive = new gcp.storage.BucketObject(
        `${this.baseName}-${bundle}`,
        {
          bucket: this.sourceBucket.name,
          name: pulumi.interpolate`${bundle}/${pulumi.output(built).sha256}.zip`,
          source: new pulumi.asset.FileArchive(built.then((b) => b.dir)),
        },
        { parent: this },
      );
      this.archives.set(bundle, archive);
    }
    return archive;
  }
}
