/**
 * The incident store on GCP: the collection `names.gcpIncidentCollection()` in the stage's Firestore
 * database (the directory's), one document per incident, its id the incident id, its timeline inside it.
 * Creates use `create()` (refused when the document exists) and updates a transaction that checks the
 * stored version, the conditions the DynamoDB store puts on its writes, so two operators (or an operator
 * and the containment function) never overwrite each other's steps.
 */
import type { Firestore } from '@google-cloud/firestore';
import { parseIncident, type Incident } from '../core/model';
import { byNewestDetection } from '../core/order';
import type { IncidentStore } from '../core/ports';

/** gRPC ALREADY_EXISTS: `create()` found a document at the id. */
const ALREADY_EXISTS = 6;

/** Options of {@link FirestoreIncidentStore}. */
export interface FirestoreIncidentStoreProps {
  /** A Firestore client on the stage's database (`names.gcpDirectoryDatabase(stage)`). */
  readonly client: Firestore;
  /** The collection, `names.gcpIncidentCollection()`. */
  readonly collection: string;
}

/** {@link IncidentStore} over a Firestore collection. */
export class FirestoreIncidentStore implements IncidentStore {
  readonly description: string;
  private readonly db: Firestore;
  private readonly collection: string;

  constructor(props: FirestoreIncidentStoreProps) {
    if (!props.collection || props.collection.includes('/'))
      throw new Error(
        `FirestoreIncidentStore: collection must be one path segment, not "${props.collection}"`,
      );
    this.db = props.client;
    this.collection = props.collection;
    this.description = `firestore:${props.client.databaseId}/${props.collection}`;
  }

  async create(incident: Incident): Promise<boolean> {
    try {
      await this.doc(incident.id).create(plain(incident));
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === ALREADY_EXISTS) return false;
      throw this.wrap(err, `create ${incident.id}`);
    }
  }

  async get(id: string): Promise<Incident | undefined> {
    let snap;
    try {
      snap = await this.doc(id).get();
    } catch (err) {
      throw this.wrap(err, `get ${id}`);
    }
    return snap.exists ? parseIncident(snap.data(), `${this.description} ${id}`) : undefined;
  }

  /** Every incident (the whole collection: a few a year). */
  async list(): Promise<Incident[]> {
    let snap;
    try {
      snap = await this.db.collection(this.collection).get();
    } catch (err) {
      throw this.wrap(err, 'list');
    }
    return snap.docs
      .map((d) => parseIncident(d.data(), `${this.description} ${d.id}`))
      .sort(byNewestDetection);
  }

  async update(incident: Incident, expectedVersion: number): Promise<boolean> {
    const ref = this.doc(incident.id);
    try {
      // Firestore retries the function when another transaction wrote the document meanwhile, so the
      // version read here is the one the write is conditioned on.
      return await this.db.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        if (!snap.exists || (snap.data() as { version?: unknown }).version !== expectedVersion) return false;
        tx.set(ref, plain(incident));
        return true;
      });
    } catch (err) {
      throw this.wrap(err, `update ${incident.id}`);
    }
  }

  private doc(id: string) {
    // An id with a slash would address a subcollection: refused before it becomes a path.
    if (!id || id.includes('/')) throw new RangeError(`not an incident id: ${JSON.stringify(id)}`);
    return this.db.collection(this.collection).doc(id);
  }

  private wrap(err: unknown, action: string): Error {
    return new Error(`incident store ${this.description}: ${action}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The record as Firestore stores it: optional fields left unset are dropped, not written as undefined. */
function plain(incident: Incident): Record<string, unknown> {
  return JSON.parse(JSON.stringify(incident)) as Record<string, unknown>;
}
