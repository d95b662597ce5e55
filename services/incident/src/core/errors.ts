/** The ways a breach-response action can be refused or fail, so each entry point answers precisely. */

/**
 * A request refused before anything changed: an unknown incident, account or key, a key already revoked,
 * a missing summary or reason, a closed incident. The CLI exits 2 on it.
 */
export class IncidentRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IncidentRefusedError';
  }
}

/** The key is already revoked: revoking it again would change nothing (the containment Lambda's no-op). */
export class KeyAlreadyRevokedError extends IncidentRefusedError {
  constructor(
    /** The key's id. */
    public readonly keyId: string,
    /** When it was revoked, if the directory says. */
    public readonly revokedAt: string | undefined,
  ) {
    super(`API key ${keyId} is already revoked${revokedAt ? ` (since ${revokedAt})` : ''}`);
    this.name = 'KeyAlreadyRevokedError';
  }
}

/**
 * An incident kept changing under this writer (another operator or the containment function recorded a
 * step at the same time) beyond the retries; nothing of this action was recorded.
 */
export class IncidentConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncidentConflictError';
  }
}

/**
 * An action that took effect only in part (the key was revoked but the incident could not be recorded);
 * the message says what happened and what to run next.
 */
export class PartialActionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PartialActionError';
  }
}
