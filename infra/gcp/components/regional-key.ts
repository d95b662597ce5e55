/**
 * The regional Cloud KMS key: the CMEK of every bucket and topic of its region, and (in later slices) the
 * key that wraps the services' data keys. The service agents of Cloud Storage and Pub/Sub may use it, and
 * nothing else is granted here: each workload gets its own grant through {@link RegionalKey.grantEncryptDecrypt}.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { names, type Location, type Stage } from '../../../platform';

/** The rotation period of every key: 90 days, the longest the platform allows (DESIGN §6). */
export const KEY_ROTATION_PERIOD = '7776000s';

/** The role that lets a principal encrypt and decrypt with a key, and nothing more. */
export const ENCRYPTER_DECRYPTER_ROLE = 'roles/cloudkms.cryptoKeyEncrypterDecrypter';

/** Properties of a {@link RegionalKey}. */
export interface RegionalKeyProps {
  /** GCP project that holds the key. */
  readonly project: string;
  /** The stage, for names. */
  readonly stage: Stage;
  /** The location the key serves. */
  readonly location: Location;
  /** The GCP region of the key; CMEK must be in the same region as the bucket or topic it protects. */
  readonly region: string;
  /** The service agents that encrypt at rest with the key (Cloud Storage, Pub/Sub), as IAM members. */
  readonly serviceAgents: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Cloud KMS key ring and symmetric key of one region, with its service agents' grants. */
export class RegionalKey extends pulumi.ComponentResource {
  /** The key ring; key rings cannot be deleted, so it is protected. */
  public readonly keyRing: gcp.kms.KeyRing;
  /** The AES-256 symmetric key, rotated every 90 days; protected: destroying it would lose every object. */
  public readonly key: gcp.kms.CryptoKey;
  /** The service agents' grants; resources encrypted with the key depend on them. */
  public readonly agentGrants: gcp.kms.CryptoKeyIAMMember[];

  constructor(name: string, props: RegionalKeyProps, opts?: pulumi.ComponentResourceOptions) {
    super('trackstack:gcp:RegionalKey', name, {}, opts);
    this.keyRing = new gcp.kms.KeyRing(
      `${name}-ring`,
      { project: props.project, location: props.region, name: names.gcpKeyRing(props.stage, props.location) },
      { parent: this, protect: true },
    );
    this.key = new gcp.kms.CryptoKey(
      name,
      {
        name: names.gcpCryptoKey(),
        keyRing: this.keyRing.id,
        purpose: 'ENCRYPT_DECRYPT',
        rotationPeriod: KEY_ROTATION_PERIOD,
        versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' },
      },
      { parent: this, protect: true },
    );
    this.agentGrants = Object.entries(props.serviceAgents).map(([agent, member]) =>
      this.grantEncryptDecrypt(`${name}-${agent}-agent`, member),
    );
    this.registerOutputs({ keyId: this.key.id });
  }

  /**
   * Lets one principal encrypt and decrypt with the key (and nothing else).
   * @param name the Pulumi name of the grant
   * @param member the IAM member, e.g. `serviceAccount:<email>`
   */
  grantEncryptDecrypt(name: string, member: pulumi.Input<string>): gcp.kms.CryptoKeyIAMMember {
    return new gcp.kms.CryptoKeyIAMMember(
      name,
      { cryptoKeyId: this.key.id, role: ENCRYPTER_DECRYPTER_ROLE, member },
      { parent: this },
    );
  }
}
