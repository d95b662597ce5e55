/** The writer core's port: where a group's object is stored. Adapters: Cloud Storage, the local file tree. */

/** Thrown by {@link ObjectWriter.put} when an object of that key exists already (it is never overwritten). */
export class ObjectExistsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectExistsError';
  }
}

/** Stores whole objects, create-only. */
export interface ObjectWriter {
  /**
   * Stores `body` under `key` (`account=<id>/dt=<yyyy-mm-dd>/<name>.ndjson`) once it is durable, and never
   * over an existing object.
   * @throws ObjectExistsError when the key is taken; any other error when the write failed
   */
  put(key: string, body: Buffer): Promise<void>;
}
