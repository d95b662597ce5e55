/**
 * Customer notices on embedded defaults: each is written to `<data dir>/outbox/<incidentId>-<n>.txt`
 * (`INCIDENTS.localOutbox`), headers `To:` and `Subject:` then the body, as a mail would carry it, so an
 * operator (or a test) reads exactly what the customer would receive. Mode 0600: the file names a contact.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { INCIDENTS } from '../../../../platform';
import type { Notice, Notifier } from '../core/ports';

/** {@link Notifier} into the local outbox folder. */
export class OutboxNotifier implements Notifier {
  /** The outbox folder. */
  readonly dir: string;
  readonly description: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, INCIDENTS.localOutbox);
    this.description = `outbox:${this.dir}`;
  }

  /** The file of a notice. */
  fileOf(incidentId: string, sequence: number): string {
    return join(this.dir, `${incidentId}-${sequence}.txt`);
  }

  async send(notice: Notice): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(notice.incidentId, notice.sequence);
    // 'wx': a notice already written under this number is never replaced.
    await fs.writeFile(file, renderMessage(notice), { flag: 'wx', mode: 0o600 });
    return file;
  }
}

/** The message as the outbox file holds it: headers, a blank line, the body. */
export function renderMessage(notice: Notice): string {
  return `To: ${notice.to}\nSubject: ${notice.subject}\n\n${notice.body}`;
}
