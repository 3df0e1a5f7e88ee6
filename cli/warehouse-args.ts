import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MAX_USERS, MIN_USERS } from '../shared/warehouse/generator.js';
import { parseErrorText } from './parse-error.js';

/**
 * `tsi warehouse load|generate`: tools for the LOCAL warehouse. They work on the data folder
 * (TSI_DATA_DIR, default .local) directly, without the API, and refuse in production mode, where
 * the warehouse is the analytics team's BigQuery. Parsing is pure; `runWarehouseCommand` does the
 * I/O against injected streams, so the CLI tests drive it in-process.
 *
 * This file is the parser and help text only, so `tsi help` and the argument parser never load
 * what the command itself needs (Firestore, DuckDB, …); that is in warehouse-commands.ts, loaded on use.
 */

export type WarehouseCommand =
  | { action: 'help' }
  | { action: 'load'; folder: string; json: boolean }
  | { action: 'generate'; out: string; seed?: number; users?: number; usageRows?: number; now?: Date; force: boolean };

export const WAREHOUSE_HELP = `tsi warehouse load <folder> [--json]
  Validate a folder of contract data (<table>.csv, .csv.gz or .parquet per table) and make it the
  local warehouse. Nothing is loaded unless every table passes; problems are listed by table,
  column and row. Works on TSI_DATA_DIR (default .local); no API needed.
tsi warehouse generate --out <folder> [--seed N] [--users N] [--usage-rows N] [--now ISO] [--force]
  Write a synthetic dataset that follows the contract (CSV per table) plus ground-truth.json
  (which accounts carry which abuse pattern). --users defaults to TSI_WAREHOUSE_USERS (2000),
  --seed to TSI_WAREHOUSE_SEED (42); --usage-rows adds ordinary accounts until the usage table
  has that many rows (e.g. 10000000). Load it with: tsi warehouse load <folder>`;

export type WarehouseParse = { ok: true; command: WarehouseCommand } | { ok: false; error: string };

const wholeNumber = (text: string, min: number, max: number): number | null => (/^\d{1,10}$/.test(text.trim()) && Number(text) >= min && Number(text) <= max ? Number(text) : null);

/** Parses the arguments after `warehouse`. */
export function parseWarehouseArgs(argv: readonly string[]): WarehouseParse {
  const [action, ...rest] = argv;
  if (action === undefined || action === 'help' || action === '--help' || action === '-h') return { ok: true, command: { action: 'help' } };
  if (action !== 'load' && action !== 'generate') return { ok: false, error: `warehouse: unknown action "${action}"; use load or generate` };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const options: ParseArgsConfig['options'] =
      action === 'load'
        ? { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }
        : {
            out: { type: 'string' }, seed: { type: 'string' }, users: { type: 'string' }, 'usage-rows': { type: 'string' },
            now: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
          };
    ({ values, positionals } = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (error) {
    return { ok: false, error: `warehouse ${action}: ${parseErrorText(error)}` };
  }
  if (values.help) return { ok: true, command: { action: 'help' } };

  if (action === 'load') {
    if (positionals.length !== 1) return { ok: false, error: positionals.length ? 'warehouse load: give exactly one folder' : 'warehouse load: missing <folder>' };
    return { ok: true, command: { action: 'load', folder: positionals[0]!, json: values.json === true } };
  }
  if (positionals.length) return { ok: false, error: `warehouse generate: unexpected argument "${positionals[0]}" (the folder goes in --out)` };
  const out = typeof values.out === 'string' ? values.out.trim() : '';
  if (!out) return { ok: false, error: 'warehouse generate: missing --out <folder>' };
  const command: Extract<WarehouseCommand, { action: 'generate' }> = { action: 'generate', out, force: values.force === true };
  if (typeof values.seed === 'string') {
    const seed = wholeNumber(values.seed, 0, 2 ** 31);
    if (seed === null) return { ok: false, error: `--seed must be a whole number, got "${values.seed}"` };
    command.seed = seed;
  }
  if (typeof values.users === 'string') {
    const users = wholeNumber(values.users, MIN_USERS, MAX_USERS);
    if (users === null) return { ok: false, error: `--users must be a whole number from ${MIN_USERS} to ${MAX_USERS}, got "${values.users}"` };
    command.users = users;
  }
  if (typeof values['usage-rows'] === 'string') {
    const rows = wholeNumber(values['usage-rows'], 1, 1_000_000_000);
    if (rows === null) return { ok: false, error: `--usage-rows must be a positive whole number, got "${values['usage-rows']}"` };
    command.usageRows = rows;
  }
  if (typeof values.now === 'string') {
    const now = new Date(values.now);
    if (Number.isNaN(now.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(values.now)) return { ok: false, error: `--now must be an ISO date-time such as 2026-03-01T12:00:00Z, got "${values.now}"` };
    command.now = now;
  }
  return { ok: true, command };
}
