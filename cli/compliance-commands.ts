import { createAuditLog } from '../shared/audit/index.js';
import { openDatabases } from '../shared/backup/firestore.js';
import { readEmulatorEndpoint } from '../shared/backup/local-endpoint.js';
import { DeletionGate } from '../shared/compliance/gate.js';
import { HoldStore } from '../shared/compliance/holds/store.js';
import { PolicyStore } from '../shared/compliance/retention/store.js';
import { sweep, type SweepReport } from '../shared/compliance/retention/sweep.js';
import { systemClock } from '../shared/platform/clock.js';
import { loadConfig } from '../shared/platform/config.js';
import { Logger } from '../shared/platform/logger.js';
import { createSecretStore } from '../shared/secrets/index.js';
import { RETENTION_HELP, type RetentionCommand } from './retention-args.js';

/**
 * `tsi retention sweep [--dry-run]`: runs the retention sweep now. With the local stack running,
 * through its API (`POST /v1/retention-policies:sweep`, as the compliance principal) so its one
 * audit writer records it; with the stack stopped, directly on the local data folder.
 */

interface Io {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

export function renderSweep(r: SweepReport): string {
  const lines = [`retention sweep${r.dry_run ? ' (dry run: nothing changed)' : ''} at ${r.started_at}`];
  for (const k of r.kinds) {
    if (k.action === 'external') {
      lines.push(`  ${k.kind.padEnd(26)} ${k.days} days, kept by the audit log bucket's retention (not swept here)`);
      continue;
    }
    const verb = r.dry_run ? 'would ' : '';
    lines.push(
      `  ${k.kind.padEnd(26)} ${String(k.days).padStart(5)} days ${k.action.padEnd(9)} scanned ${k.scanned}, ${verb}${k.action === 'anonymise' ? 'anonymise' : 'delete'} ${k.deleted + k.anonymised}, held ${k.blocked}, TTL stamped ${k.stamped}`,
    );
    for (const id of [...k.samples.delete, ...k.samples.anonymise].slice(0, r.dry_run ? 20 : 0)) lines.push(`      ${id}`);
    for (const b of k.samples.blocked) lines.push(`      ${b.id} kept: legal hold ${b.holds.join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

export async function runRetentionCommand(command: RetentionCommand, io: Io): Promise<number> {
  if (command.action === 'help') {
    io.stdout.write(`usage: ${RETENTION_HELP}\n`);
    return 0;
  }
  const config = loadConfig(io.env as NodeJS.ProcessEnv);
  const logger = new Logger({ component: 'retention' }, (line) => io.stderr.write(line + '\n'), 'WARNING');
  const viaApi = config.mode !== 'local' || readEmulatorEndpoint(config.dataDir) !== null;
  if (viaApi) {
    const f = io.fetch ?? fetch;
    const url = (command.url ?? io.env.TSI_URL ?? 'http://localhost:8080').replace(/\/$/, '');
    let token = io.env.TSI_TOKEN;
    if (!token) {
      const t = await f(`${url}/_local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: command.as }) });
      if (!t.ok) throw new Error(`no token for ${command.as} (HTTP ${t.status}); pass TSI_TOKEN`);
      token = ((await t.json()) as { token: string }).token;
    }
    const res = await f(`${url}/v1/retention-policies:sweep`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ dry_run: command.dryRun }) });
    const body = (await res.json()) as SweepReport & { detail?: string };
    if (!res.ok) {
      io.stderr.write(`error: HTTP ${res.status}: ${body.detail ?? 'sweep refused'}\n`);
      return 1;
    }
    io.stdout.write(renderSweep(body));
    return 0;
  }
  const opened = await openDatabases(config, logger);
  const audit = createAuditLog(config, { clock: systemClock, secrets: createSecretStore(config), logger });
  try {
    const db = opened.db(config.firestoreDatabase);
    const gate = new DeletionGate({ holds: new HoldStore(db), audit });
    const report = await sweep({ db, policies: new PolicyStore(db), gate, audit, clock: systemClock, logger }, { dryRun: command.dryRun, actor: 'cli:retention' });
    io.stdout.write(renderSweep(report));
    return 0;
  } finally {
    await audit.close();
    await opened.close();
  }
}
