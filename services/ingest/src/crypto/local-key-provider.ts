/**
 * The embedded-defaults master key: 32 random bytes in a file that only the owner can read, standing in
 * for the regional KMS key on a developer machine. Not for production: the key sits on
 * the same disk as the data it protects.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Metrics } from '../metrics';
import { DecryptionError, KEY_BYTES, open, seal } from './aes-gcm';
import type { GeneratedDataKey, KeyProvider } from './key-provider';

/** Options of {@link LocalKeyProvider}. */
export interface LocalKeyProviderProps {
  /** Path of the master key file; created (mode 0600) on first use when missing. */
  readonly keyFile: string;
  /** Counts `GenerateDataKey` and `Decrypt` calls, like the KMS provider does. */
  readonly metrics?: Metrics;
}

/** Raised when the master key file exists but must not be used (wrong size, readable by others). */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/** The conventional key file path under a data directory (`TS_DATA_DIR`). */
export function defaultKeyFile(dataDir: string): string {
  return join(dataDir, 'master.key');
}

const isWindows = process.platform === 'win32';

/** Wraps data keys with AES-256-GCM under a local master key file. */
export class LocalKeyProvider implements KeyProvider {
  /** Provider name for logs and metrics. */
  readonly name = 'local';
  private readonly keyFile: string;
  private readonly metrics: Metrics | undefined;
  private masterKey: Promise<Buffer> | undefined;

  constructor(props: LocalKeyProviderProps) {
    this.keyFile = props.keyFile;
    this.metrics = props.metrics;
  }

  /** Generates a data key and wraps it with the account id as additional authenticated data. */
  async generateDataKey(accountId: string): Promise<GeneratedDataKey> {
    this.metrics?.keyProviderCall('GenerateDataKey');
    const master = await this.master();
    const plaintext = randomBytes(KEY_BYTES);
    return { plaintext, wrapped: seal(master, plaintext, Buffer.from(accountId, 'utf8')) };
  }

  /**
   * Unwraps a data key.
   * @throws DecryptionError when it was wrapped for another account, under another master key, or altered
   */
  async decryptDataKey(wrapped: Buffer, accountId: string): Promise<Buffer> {
    this.metrics?.keyProviderCall('Decrypt');
    const master = await this.master();
    let key: Buffer;
    try {
      key = open(master, wrapped, Buffer.from(accountId, 'utf8'));
    } catch (err) {
      throw new DecryptionError(`data key does not unwrap for account ${accountId} with ${this.keyFile}`, {
        cause: err,
      });
    }
    if (key.length !== KEY_BYTES)
      throw new DecryptionError(`unwrapped data key of account ${accountId} is not 32 bytes`);
    return key;
  }

  /** Resolves once the key file is loaded (or created); rejects with the reason it cannot be used. */
  async check(): Promise<void> {
    await this.master();
  }

  private master(): Promise<Buffer> {
    if (!this.masterKey) {
      this.masterKey = loadOrCreateKeyFile(this.keyFile);
      // A failed load (say, a too-open file the operator then fixes) must not stick for the process' life.
      this.masterKey.catch(() => {
        this.masterKey = undefined;
      });
    }
    return this.masterKey;
  }
}

/**
 * Loads the master key file, creating it with 32 random bytes and mode 0600 when it does not exist.
 * Creation is exclusive and atomic, so concurrent first runs (the service and a CLI) end up with one key.
 * @throws KeyFileError when the file has the wrong size or is readable or writable by group or others
 */
export async function loadOrCreateKeyFile(keyFile: string): Promise<Buffer> {
  try {
    return await readKeyFile(keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  // Written in full under a private name, then linked into place: link() fails if the name exists, so no
  // reader ever sees a half-written key, and a concurrent creator's key is never overwritten.
  const tmp = `${keyFile}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(randomBytes(KEY_BYTES));
    // The umask can only remove bits, but be explicit in case the file system ignores the create mode.
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(tmp, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
  return readKeyFile(keyFile);
}

async function readKeyFile(keyFile: string): Promise<Buffer> {
  const handle = await fs.open(keyFile, 'r');
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeyFileError(`master key ${keyFile} is not a regular file`);
    if (!isWindows && (stat.mode & 0o077) !== 0) {
      throw new KeyFileError(
        `master key ${keyFile} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); ` +
          `run: chmod 600 ${keyFile}`,
      );
    }
    if (stat.size !== KEY_BYTES) {
      throw new KeyFileError(`master key ${keyFile} must be exactly ${KEY_BYTES} bytes, found ${stat.size}`);
    }
    const key = await handle.readFile();
    if (key.length !== KEY_BYTES) {
      throw new KeyFileError(`master key ${keyFile} must be exactly ${KEY_BYTES} bytes, read ${key.length}`);
    }
    return key;
  } finally {
    await handle.close();
  }
}
