/**
 * The directory on GCP: a Firestore (native mode) database with CMEK, in the primary location's region,
 * holding the items of the shared layout in one collection, with a TTL policy on the timestamp the
 * Firestore directory writes beside `expiresAt` (de-duplication claims expire by themselves).
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { names, type Stage } from '../../../platform';
import type { RegionalKey } from './regional-key';

/** Properties of a {@link Directory}. */
export interface DirectoryProps {
  readonly project: string;
  readonly stage: Stage;
  /** The database's region; the key must be in the same one (Firestore CMEK). */
  readonly region: string;
  /** The key of that region. */
  readonly key: RegionalKey;
  /** Firestore's service agent, granted on the key before the database is created. */
  readonly firestoreAgent: pulumi.Input<string>;
}

/** The Firestore database of the directory. */
export class Directory extends pulumi.ComponentResource {
  /** The database; protected and delete-protected: it holds every account and key. */
  public readonly database: gcp.firestore.Database;
  /** The TTL policy on the directory collection. */
  public readonly ttl: gcp.firestore.Field;

  constructor(name: string, props: DirectoryProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:Directory', name, {}, opts);
    const grant = props.key.grantEncryptDecrypt(`${name}-firestore-agent`, props.firestoreAgent);
    this.database = new gcp.firestore.Database(
      name,
      {
        project: props.project,
        name: names.gcpDirectoryDatabase(props.stage),
        locationId: props.region,
        type: 'FIRESTORE_NATIVE',
        cmekConfig: { kmsKeyName: props.key.key.id },
        deleteProtectionState: 'DELETE_PROTECTION_ENABLED',
        // Seven days back, the counterpart of the DynamoDB table's point-in-time recovery.
        pointInTimeRecoveryEnablement: 'POINT_IN_TIME_RECOVERY_ENABLED',
      },
      { parent: this, protect: true, dependsOn: [grant] },
    );
    this.ttl = new gcp.firestore.Field(
      `${name}-ttl`,
      {
        project: props.project,
        database: this.database.name,
        collection: names.gcpDirectoryCollection(),
        field: names.gcpDirectoryTtlField(),
        ttlConfig: {},
        // The TTL field is never queried: no index needed.
        indexConfig: {},
      },
      { parent: this },
    );
    this.registerOutputs({ database: this.database.name });
  }

  /**
   * Lets `member` read and write documents of this database only (roles/datastore.user, conditioned on
   * the database: Firestore has no narrower resource to grant on).
   */
  grantReadWrite(name: string, member: pulumi.Input<string>): gcp.projects.IAMMember {
    return new gcp.projects.IAMMember(
      name,
      {
        project: this.database.project,
        role: 'roles/datastore.user',
        member,
        condition: {
          title: 'directory database only',
          expression: pulumi.interpolate`resource.name == "${this.database.id}"`,
        },
      },
      { parent: this },
    );
  }
}
