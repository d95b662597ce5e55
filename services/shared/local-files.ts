/**
 * How the local stores of embedded defaults (the incident store, the edge store) replace a file: a reader
 * sees the old content or the new, never half of it, and a crash leaves the old file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';

/**
 * Writes `body` to a temporary file beside `file` (created 0600, never over an existing one), flushes it to
 * disk, then renames it over `file`: the rename is the commit point.
 * @throws the file system's error, with the temporary file removed
 */
export async function replaceFileAtomically(file: string, body: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(body, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
