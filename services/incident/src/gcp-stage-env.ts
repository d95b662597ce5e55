/**
 * What `npm run incident -- --stage <stage> --cloud gcp --project <id>` runs against: the stage's Firestore
 * database (`names.gcpDirectoryDatabase`) holding the directory and the incident collection, the Cloud
 * Armor backend policy (`names.gcpBackendSecurityPolicy`) as the edge store, and the customer-notice topic
 * (`names.gcpCustomerNoticeTopic`), all in the project given. The actor is the caller's Google identity.
 */
import { names, type Stage } from '../../../platform';
import { IncidentRefusedError } from './core/errors';
import type { StageTarget } from './stage-env';

/** Finds the caller's Google identity (an e-mail address); tests pass their own. */
export type GcpIdentity = () => Promise<string>;

/**
 * The caller's identity from Application Default Credentials: a service account's `client_email`, or, for
 * user credentials (which carry no e-mail), the address the access token was issued to (tokeninfo).
 * @throws IncidentRefusedError when neither names anyone: every step must be recorded with its actor
 */
export async function googleIdentity(): Promise<string> {
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  let email: string | undefined;
  try {
    email = (await auth.getCredentials()).client_email;
    if (!email) {
      const token = await auth.getAccessToken();
      if (token) {
        const info = await fetch(
          `https://oauth2.googleapis.com/tokeninfo?access_token=${encodeURIComponent(token)}`,
        );
        if (info.ok) email = ((await info.json()) as { email?: string }).email;
      }
    }
  } catch (err) {
    throw new IncidentRefusedError(
      `could not read your Google credentials (${(err as Error).message}): run \`gcloud auth application-default login\``,
      { cause: err },
    );
  }
  if (!email?.trim())
    throw new IncidentRefusedError(
      'your Google credentials name no e-mail address, and every step is recorded with its actor: use a ' +
        'service account key (GOOGLE_APPLICATION_CREDENTIALS) or log in with the userinfo.email scope',
    );
  return email.trim();
}

/** Resolves the GCP stage's resources and the caller (nothing is read from the cloud but the identity). */
export async function gcpStageTarget(
  stage: Stage,
  project: string,
  identity: GcpIdentity = googleIdentity,
): Promise<StageTarget> {
  const actor = (await identity()).trim();
  if (!actor) throw new IncidentRefusedError('the caller has no Google identity to record as the actor');
  return {
    actor: `gcp:${actor}`,
    env: {
      TS_STAGE: stage,
      TS_GCP_PROJECT: project,
      TS_DIRECTORY: 'firestore',
      TS_FIRESTORE_DATABASE: names.gcpDirectoryDatabase(stage),
      TS_INCIDENT_STORE: 'firestore',
      TS_NOTIFIER: 'pubsub',
      TS_NOTICE_TOPIC: names.gcpCustomerNoticeTopic(stage),
      TS_EDGE_STORE: 'armor',
      TS_ARMOR_POLICY: names.gcpBackendSecurityPolicy(stage),
      TS_LOG_LEVEL: 'silent',
    },
  };
}
