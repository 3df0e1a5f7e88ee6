import { parseArgs } from 'node:util';
import { parseErrorText } from './parse-error.js';

/**
 * `tsi retention sweep [--dry-run]`: runs the retention sweep now. With the local stack running,
 * through its API (`POST /v1/retention-policies:sweep`, as the compliance principal) so its one
 * audit writer records it; with the stack stopped, directly on the local data folder.
 *
 * This file is the parser and help text only, so `tsi help` and the argument parser never load
 * what the command itself needs (Firestore, DuckDB, …); that is in compliance-commands.ts, loaded on use.
 */
export type RetentionCommand = { action: 'help' } | { action: 'sweep'; dryRun: boolean; as: string; url?: string };

export const RETENTION_HELP = `tsi retention sweep [--dry-run] [--as <principal>] [--url <api>]
  Delete or anonymise what is past its retention policy (legal holds always win), in batches.
  --dry-run shows what would happen and changes nothing. Local: through the running stack's API
  (acting as --as, default compliance@example.com), or on the data folder when it is stopped.`;

export function parseRetentionArgs(argv: readonly string[]): { ok: true; command: RetentionCommand } | { ok: false; error: string } {
  const [action, ...rest] = argv;
  if (action === undefined || action === 'help' || action === '--help' || action === '-h') return { ok: true, command: { action: 'help' } };
  if (action !== 'sweep') return { ok: false, error: `retention: unknown action "${action}"; use sweep` };
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { 'dry-run': { type: 'boolean' }, as: { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) return { ok: true, command: { action: 'help' } };
    if (positionals.length) return { ok: false, error: `retention sweep: unexpected argument "${positionals[0]}"` };
    return { ok: true, command: { action: 'sweep', dryRun: values['dry-run'] === true, as: values.as ?? 'compliance@example.com', ...(values.url ? { url: values.url } : {}) } };
  } catch (error) {
    return { ok: false, error: `retention sweep: ${parseErrorText(error)}` };
  }
}
