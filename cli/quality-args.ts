import { parseArgs } from 'node:util';
import { parseErrorText } from './parse-error.js';

/**
 * `tsi quality check [--json]`: runs the data-quality checks now and prints them; exit 1 when a
 * check fails. With the local stack running, it triggers the stack's data-quality function (as
 * Cloud Scheduler would) and reads the report it stored, so the stack's audit writer is the only
 * one; with the stack stopped (or in production mode, with application default credentials),
 * it runs the same job directly on the data.
 *
 * This file is the parser and help text only, so `tsi help` and the argument parser never load
 * what the command itself needs (Firestore, DuckDB, …); that is in quality-commands.ts, loaded on use.
 */
export type QualityCommand = { action: 'help' } | { action: 'check'; json: boolean; url?: string };

export const QUALITY_HELP = `tsi quality check [--json] [--url <stack>]
  Run the data-quality checks now: warehouse contract (every contract column answers), freshness
  and volume of the fact tables, stuck investigations and unpublished outbox events. Prints each
  check (--json: the report) and exits 1 when any check fails. Local: through the running stack,
  or on the data folder when it is stopped.`;

export function parseQualityArgs(argv: readonly string[]): { ok: true; command: QualityCommand } | { ok: false; error: string } {
  const [action, ...rest] = argv;
  if (action === undefined || action === 'help' || action === '--help' || action === '-h') return { ok: true, command: { action: 'help' } };
  if (action !== 'check') return { ok: false, error: `quality: unknown action "${action}"; use check` };
  try {
    const { values, positionals } = parseArgs({ args: [...rest], options: { json: { type: 'boolean' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values.help) return { ok: true, command: { action: 'help' } };
    if (positionals.length) return { ok: false, error: `quality check: unexpected argument "${positionals[0]}"` };
    return { ok: true, command: { action: 'check', json: values.json === true, ...(values.url ? { url: values.url } : {}) } };
  } catch (error) {
    return { ok: false, error: `quality check: ${parseErrorText(error)}` };
  }
}
