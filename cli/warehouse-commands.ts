import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readEmulatorEndpoint } from '../shared/backup/local-endpoint.js';
import { loadConfig, type Config } from '../shared/platform/config.js';
import { ConfigError } from '../shared/platform/errors.js';
import { Logger } from '../shared/platform/logger.js';
import { TABLE_NAMES } from '../shared/warehouse/contract.js';
import type { ContractProblem } from '../shared/warehouse/load.js';
import { WAREHOUSE_HELP, type WarehouseCommand } from './warehouse-args.js';

/**
 * `tsi warehouse load|generate`: tools for the LOCAL warehouse. They work on the data folder
 * (TSI_DATA_DIR, default .local) directly, without the API, and refuse in production mode, where
 * the warehouse is the analytics team's BigQuery. Parsing is pure; `runWarehouseCommand` does the
 * I/O against injected streams, so the CLI tests drive it in-process.
 */

export interface WarehouseIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  /** Used only to see whether a local stack is running (it keeps the old file open). */
  fetch?: typeof fetch;
  /** Working directory for relative folders (default: the process's). */
  cwd?: string;
}

export const WAREHOUSE_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export async function runWarehouseCommand(command: WarehouseCommand, io: WarehouseIo): Promise<number> {
  if (command.action === 'help') {
    io.stdout.write(`usage: ${WAREHOUSE_HELP}\n`);
    return WAREHOUSE_EXIT.ok;
  }
  if (io.env.TSI_MODE?.trim() === 'production') {
    io.stderr.write(`tsi warehouse ${command.action} works on the local warehouse only (TSI_MODE=production uses the analytics team's BigQuery dataset).\n`);
    return WAREHOUSE_EXIT.usage;
  }
  let config: Config;
  try {
    config = loadConfig(io.env as NodeJS.ProcessEnv);
  } catch (error) {
    io.stderr.write(`tsi: ${error instanceof ConfigError ? error.message : String(error)}\n`);
    return WAREHOUSE_EXIT.usage;
  }
  if (config.mode !== 'local' || config.adapters.warehouse !== 'duckdb') {
    io.stderr.write(
      `tsi warehouse ${command.action} works on the local (DuckDB) warehouse only; this configuration uses ${config.adapters.warehouse} ` +
        `(TSI_MODE=${config.mode}). In production the warehouse is the analytics team's BigQuery dataset.\n`,
    );
    return WAREHOUSE_EXIT.usage;
  }
  return command.action === 'load' ? loadCommand(command, config, io) : generateCommand(command, config, io);
}

const n = (value: number) => value.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The loader's warnings (columns outside the contract) become notes on stderr; nothing else is printed from its log. */
function cliLogger(io: WarehouseIo): Logger {
  return new Logger({}, (line) => {
    try {
      const entry = JSON.parse(line) as { severity?: string; message?: string; table?: string; columns?: string[] };
      if (entry.severity === 'WARNING') io.stderr.write(`note: ${entry.table ? `${entry.table}: ` : ''}${entry.message}${entry.columns ? `: ${entry.columns.join(', ')}` : ''}\n`);
    } catch {
      // not ours to show
    }
  }, 'WARNING');
}

async function loadCommand(command: Extract<WarehouseCommand, { action: 'load' }>, config: Config, io: WarehouseIo): Promise<number> {
  const folder = resolve(io.cwd ?? process.cwd(), command.folder);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    io.stderr.write(`tsi: warehouse load: "${command.folder}" is not a folder\n`);
    return WAREHOUSE_EXIT.usage;
  }
  const { loadLocalWarehouseFromFolder, localWarehousePaths } = await import('../shared/warehouse/local.js');
  const { ContractViolationError, findTableFile } = await import('../shared/warehouse/load.js');
  const target = localWarehousePaths(config.dataDir).file;
  const progress = command.json ? io.stderr : io.stdout;
  const unknown = readdirSync(folder).filter((f) => /\.(csv|csv\.gz|parquet)$/.test(f) && !TABLE_NAMES.some((t) => f.startsWith(`${t}.`)));
  if (unknown.length) io.stderr.write(`note: ignoring file(s) that are not contract tables: ${unknown.join(', ')}\n`);
  progress.write(`Loading ${folder}\n   into ${target}\n`);
  const started = performance.now();
  try {
    const result = await loadLocalWarehouseFromFolder({ dataDir: config.dataDir, folder, logger: cliLogger(io) });
    const elapsed = performance.now() - started;
    const running = runningStack(config);
    if (command.json) {
      io.stdout.write(`${JSON.stringify({ loaded: true, file: result.file, rows: result.rows, ground_truth: result.groundTruth, restart_needed: running !== null }, null, 2)}\n`);
    } else {
      const width = Math.max(...TABLE_NAMES.map((t) => t.length));
      for (const table of TABLE_NAMES) {
        const file = findTableFile(folder, table);
        io.stdout.write(`  ${table.padEnd(width)}  ${n(result.rows[table]).padStart(12)} rows  ${file ? relative(folder, file.path) : ''}\n`);
      }
      const total = TABLE_NAMES.reduce((s, t) => s + result.rows[t], 0);
      io.stdout.write(`Loaded ${TABLE_NAMES.length} tables, ${n(total)} rows in ${seconds(elapsed)}; every table follows the contract.\n`);
      if (result.groundTruth) io.stdout.write('Kept the folder\'s ground-truth.json next to the warehouse.\n');
    }
    io.stderr.write(
      running
        ? `The local stack on ${config.dataDir} (${running}) is running and keeps reading the previous data: restart it (Ctrl-C, then npm start) to use the new warehouse.\n`
        : '`npm start` will use this data (it never replaces a loaded warehouse with generated data).\n',
    );
    return WAREHOUSE_EXIT.ok;
  } catch (error) {
    if (!(error instanceof ContractViolationError)) throw error;
    if (command.json) io.stdout.write(`${JSON.stringify({ loaded: false, problems: error.details }, null, 2)}\n`);
    else io.stderr.write(renderProblems(error.details));
    return WAREHOUSE_EXIT.failed;
  }
}

/** Problems grouped by table, then column, each with its first rows and a count. */
export function renderProblems(problems: readonly ContractProblem[]): string {
  const lines = ['The folder does not follow the warehouse contract. Nothing was loaded; the current warehouse is unchanged.', 'Rows are numbered from the first row after the header.', ''];
  const tables = [...new Set(problems.map((p) => p.table))];
  for (const table of tables) {
    lines.push(table);
    for (const p of problems.filter((q) => q.table === table)) {
      const text = p.message.replace(new RegExp(`^${table}(\\.${p.column ?? ''})?: `), '');
      lines.push(`  ${p.column ?? '(table)'}: ${text}`);
      if (p.rows.length) {
        const more = p.count > p.rows.length ? ` … and ${n(p.count - p.rows.length)} more` : '';
        lines.push(`      row${p.rows.length > 1 ? 's' : ''} ${p.rows.join(', ')}${more}`);
      }
      if (p.examples?.length) lines.push(`      value${p.examples.length > 1 ? 's' : ''} ${[...new Set(p.examples)].map((v) => JSON.stringify(v)).join(', ')}`);
    }
  }
  lines.push('', `${problems.length} problem(s) in ${tables.length} table(s). See ../shared/warehouse-contract.md for the columns, types and values each table must have.`, '');
  return lines.join('\n');
}

/** A live local stack on this data folder, if any (it holds the old warehouse file open). */
function runningStack(config: Config): string | null {
  const endpoint = readEmulatorEndpoint(config.dataDir);
  return endpoint ? `pid ${endpoint.pid}` : null;
}

async function generateCommand(command: Extract<WarehouseCommand, { action: 'generate' }>, config: Config, io: WarehouseIo): Promise<number> {
  const out = resolve(io.cwd ?? process.cwd(), command.out);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) {
      io.stderr.write(`tsi: warehouse generate: ${command.out} exists and is not a folder\n`);
      return WAREHOUSE_EXIT.usage;
    }
    if (readdirSync(out).length && !command.force) {
      io.stderr.write(`tsi: warehouse generate: ${command.out} is not empty; choose another --out or add --force to overwrite its tables\n`);
      return WAREHOUSE_EXIT.usage;
    }
  }
  const { writeWarehouseFolder } = await import('../shared/warehouse/generator.js');
  const users = command.users ?? config.warehouse.localUsers;
  const seed = command.seed ?? config.warehouse.localSeed;
  const now = command.now ?? new Date();
  io.stdout.write(`Generating ${n(users)} accounts (seed ${seed}${command.usageRows ? `, at least ${n(command.usageRows)} usage rows` : ''}, data up to ${now.toISOString()})\n   into ${out}\n`);
  const started = performance.now();
  let result: ReturnType<typeof writeWarehouseFolder>;
  try {
    result = writeWarehouseFolder(out, { users, seed, now, ...(command.usageRows ? { usageRows: command.usageRows } : {}) });
  } catch (error) {
    io.stderr.write(`tsi: warehouse generate: ${error instanceof Error ? error.message : String(error)}\n`);
    return WAREHOUSE_EXIT.usage;
  }
  const width = Math.max(...TABLE_NAMES.map((t) => t.length));
  for (const table of TABLE_NAMES) io.stdout.write(`  ${table.padEnd(width)}  ${n(result.rows[table]).padStart(12)} rows  ${table}.csv\n`);
  const truth = result.groundTruth;
  const withFindings = Object.keys(truth.accounts).length;
  const patterns = (Object.keys(truth.patterns) as (keyof typeof truth.patterns)[]).map((p) => `${p} ${truth.patterns[p].length}`).join(', ');
  io.stdout.write(
    [
      `Wrote ${n(truth.users)} accounts in ${seconds(performance.now() - started)}: ${n(truth.users - withFindings)} clean, ${n(withFindings)} with expected findings (${pct(withFindings, truth.users)}).`,
      `Accounts per pattern: ${patterns}.`,
      `Ground truth: ${join(out, 'ground-truth.json')}`,
      `Next: npx tsi warehouse load ${command.out}`,
      '',
    ].join('\n'),
  );
  return WAREHOUSE_EXIT.ok;
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / Math.max(whole, 1)).toFixed(1)}%`;
}

