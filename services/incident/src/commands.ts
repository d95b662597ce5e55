/** What each command of `npm run incident` does with the core, and what it prints. */
import { LIMITS } from '../../../platform';
import type { IncidentArgs } from './cli';
import { clockLine, formatIncident, formatList } from './format';
import type { IncidentRuntime } from './runtime';

/** Where a command prints, and its clock. */
export interface CommandIo {
  readonly out: (text: string) => void;
  readonly now: () => Date;
}

/**
 * Runs one parsed command.
 * @throws IncidentRefusedError (nothing changed) and whatever the adapters throw
 */
export async function runCommand(
  args: IncidentArgs,
  rt: IncidentRuntime,
  actor: string,
  io: CommandIo,
): Promise<void> {
  const { service } = rt;
  const out = io.out;
  switch (args.command) {
    case 'open': {
      const incident = await service.open(
        {
          accountId: args.account!,
          summary: args.summary!,
          ...(args.key ? { keyId: args.key } : {}),
          ...(args.detectedAt ? { detectedAt: args.detectedAt } : {}),
          affectsPersonalData: args.personalData,
        },
        actor,
      );
      out(`Opened incident ${incident.id} for ${incident.accountId}`);
      out(`  detected ${incident.detectedAt}, recorded by ${actor} in ${rt.incidents.description}`);
      out(clockLine(incident, io.now()));
      return;
    }
    case 'revoke-key': {
      const r = await service.revokeKey(args.target!, args.reason!, actor, args.incident);
      out(`Revoked API key ${args.target} of ${r.accountId}: ${args.reason!.trim()}`);
      out(
        `  directory:  ${rt.directory.description}: status revoked; every region's ingest refuses the key within ${LIMITS.keyStatusCacheSeconds} s`,
      );
      out(
        `  edge store: ${rt.edgeName}: revoked:${args.target}; the edge refuses the key once the store has propagated`,
      );
      out(`${r.opened ? 'Opened incident' : 'Recorded on incident'} ${r.incident.id}: contained by ${actor}`);
      out(clockLine(r.incident, io.now()));
      return;
    }
    case 'notify': {
      const r = await service.notify(args.target!, actor);
      out(`Notified ${r.to} about ${r.incident.id} (${rt.notifier.description})`);
      out(`  delivered: ${r.deliveredTo}`);
      out(clockLine(r.incident, io.now()));
      out('');
      out(`Subject: ${r.subject}`);
      out('');
      out(r.body);
      return;
    }
    case 'rotate-key': {
      const r = await service.rotateKey(args.target!, actor, args.incident);
      out(`New API key for ${r.incident.accountId}, replacing ${args.target}:`);
      out('');
      out(`  ${r.key}`);
      out('');
      out(
        '  Shown once: only its hash is stored. Hand it to the customer over a secure channel, never by e-mail.',
      );
      if (r.oldKeyActive)
        out(
          `  The old key ${args.target} is still active: revoke it with revoke-key when the customer has switched.`,
        );
      out(`Recorded on incident ${r.incident.id}: rotated (new key id ${r.keyId}) by ${actor}`);
      return;
    }
    case 'close': {
      const incident = await service.close(args.target!, args.summary!, actor);
      out(`Closed incident ${incident.id}: ${incident.resolution}`);
      out(clockLine(incident, io.now()));
      return;
    }
    case 'list':
      out(formatList(await service.list({ openOnly: args.openOnly }), io.now()));
      return;
    case 'show':
      out(formatIncident(await service.show(args.target!), io.now()));
      return;
  }
}
