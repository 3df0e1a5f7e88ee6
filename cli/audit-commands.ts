import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyAuditChain, verifyAuditChains, type ChainVerification } from '../shared/audit/chain.js';
import { parseErrorText } from './parse-error.js';

/**
 * `tsi audit verify`: checks the audit log's hash chain offline, from a file, with no server and no
 * credentials. Reads the local stack's `<TSI_DATA_DIR>/audit/audit.jsonl` by default, or `--file`:
 * a JSON-lines audit file, or a Cloud Logging export (`gcloud logging read … --format=json`), whose
 * per-instance chains are verified one by one. Exit 0 = intact, 1 = broken or unreadable, 2 = usage.
 */
export const AUDIT_USAGE = `tsi audit verify [--file PATH] [--json]
  Verify the audit log's hash chain and name the first changed, deleted, reordered or inserted
  record. Default file: <TSI_DATA_DIR, default .local>/audit/audit.jsonl. Also reads a Cloud Logging
  export (gcloud logging read 'logName=…/logs/tsi-audit' --order=asc --format=json).
  Exit code 0 when the chain is intact, 1 when it is broken.`;

export interface AuditIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  cwd?: string;
}

export type AuditCommand = { kind: 'help' } | { kind: 'verify'; file: string | null; json: boolean };

export function parseAuditArgs(argv: readonly string[]): { ok: true; command: AuditCommand } | { ok: false; error: string } {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') return { ok: true, command: { kind: 'help' } };
  if (sub !== 'verify') return { ok: false, error: `unknown audit command "${sub}"` };
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { file: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) return { ok: true, command: { kind: 'help' } };
    if (positionals.length) return { ok: false, error: `audit verify: unexpected argument "${positionals[0]}"` };
    if (values.file !== undefined && values.file.trim() === '') return { ok: false, error: '--file must not be empty' };
    return { ok: true, command: { kind: 'verify', file: values.file ?? null, json: values.json === true } };
  } catch (error) {
    return { ok: false, error: parseErrorText(error) };
  }
}

export function defaultAuditFile(env: Record<string, string | undefined>, cwd = process.cwd()): string {
  const dataDir = env.TSI_DATA_DIR?.trim() || '.local';
  return resolve(cwd, dataDir, 'audit', 'audit.jsonl');
}

interface Loaded {
  records: unknown[];
  /** Where each record came from, for messages (line numbers, or entry numbers of an export). */
  where: string[];
  export: boolean;
}

/** Pure: the records of a JSON-lines file (unparseable lines kept as text so they count), or of an export. */
export function loadAuditText(text: string): Loaded {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    const entries = JSON.parse(trimmed) as { jsonPayload?: unknown; timestamp?: string; insertId?: string }[];
    const sorted = entries
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (a.e.timestamp ?? '').localeCompare(b.e.timestamp ?? '') || (a.e.insertId ?? '').localeCompare(b.e.insertId ?? '') || a.i - b.i);
    return { records: sorted.map(({ e }) => e.jsonPayload ?? e), where: sorted.map(({ e, i }) => `entry ${i + 1}${e.insertId ? ` (${e.insertId})` : ''}`), export: true };
  }
  const records: unknown[] = [];
  const where: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      records.push(JSON.parse(line));
    } catch {
      records.push(line);
    }
    where.push(`line ${i + 1}`);
  });
  return { records, where, export: false };
}

export async function runAuditCommand(argv: readonly string[], io: AuditIo): Promise<number> {
  const parsed = parseAuditArgs(argv);
  if (!parsed.ok) {
    io.stderr.write(`tsi: ${parsed.error}\n\nusage: ${AUDIT_USAGE}\n`);
    return 2;
  }
  if (parsed.command.kind === 'help') {
    io.stdout.write(`usage: ${AUDIT_USAGE}\n`);
    return 0;
  }
  const { json } = parsed.command;
  const file = parsed.command.file ? resolve(io.cwd ?? process.cwd(), parsed.command.file) : defaultAuditFile(io.env, io.cwd);
  let loaded: Loaded;
  try {
    loaded = loadAuditText(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    io.stderr.write(code === 'ENOENT' ? `error: no audit file at ${file} (start the local stack once, or pass --file)\n` : `error: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const chains: (ChainVerification & { indexes?: number[] })[] = loaded.export ? verifyAuditChains(loaded.records, { startMidChain: true }).chains : [verifyAuditChain(loaded.records)];
  const ok = chains.every((c) => c.ok);
  if (json) {
    io.stdout.write(`${JSON.stringify({ ok, file, chains: chains.map(({ indexes: _i, ...c }) => ({ ...c, ...(c.firstBad ? { firstBad: { ...c.firstBad, where: loaded.where[c.firstBad.index] ?? 'end of file' } } : {}) })) }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  for (const c of chains) {
    const name = c.chain ?? '(none)';
    if (c.ok) {
      const legacy = c.unchained ? ` (${c.unchained} earlier record(s) predate the chain and are not covered)` : '';
      io.stdout.write(`audit chain ${name}: OK, ${c.checked} record(s) checked${legacy}${c.head ? `; head seq ${c.head.seq} ${c.head.hash.slice(0, 16)}…` : ''}\n`);
    } else {
      const bad = c.firstBad!;
      const where = loaded.where[bad.index] ?? 'end of file';
      io.stdout.write(`audit chain ${name}: BROKEN at ${where}${bad.seq !== null ? ` (seq ${bad.seq})` : ''}: ${bad.reason} — ${bad.detail}\n`);
      io.stdout.write(`  ${c.checked} record(s) checked; the chain is intact up to ${c.head ? `seq ${c.head.seq}` : 'its start'}\n`);
    }
  }
  io.stdout.write(`${file}: ${ok ? 'intact' : 'TAMPERED OR DAMAGED'}\n`);
  return ok ? 0 : 1;
}
