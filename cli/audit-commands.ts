import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyAuditChain, verifyAuditChains, type ChainVerification } from '../shared/audit/chain.js';
import { CHECKPOINT_KEY_SECRET, checkAnchors, checkpointVerifier, type AnchorReport, type CheckpointProblem, type CheckpointVerifier, type StoredCheckpoint } from '../shared/audit/checkpoint.js';
import { GcsCheckpointSink, LocalCheckpointSink, type CheckpointSink } from '../shared/audit/checkpoint-sink.js';
import { localCheckpointDir } from '../shared/audit/index.js';
import { loadConfig } from '../shared/platform/config.js';
import { createSecretStore, MissingSecretError } from '../shared/secrets/index.js';
import { parseErrorText } from './parse-error.js';

/**
 * `tsi audit verify`: checks the audit log's hash chain offline, from a file, with no server, and
 * its signed checkpoints (docs/decisions/0030). Reads the local stack's
 * `<TSI_DATA_DIR>/audit/audit.jsonl` and `<TSI_DATA_DIR>/audit-checkpoints/` by default, or
 * `--file`: a JSON-lines audit file, or a Cloud Logging export (`gcloud logging read …
 * --format=json`), whose per-instance chains are verified one by one, with `--checkpoints` (a
 * folder or `gs://bucket/prefix`). The checkpoint key comes from the secret store, or
 * `--public-key` (PEM, from `tsi audit public-key`). Exit 0 = intact, 1 = broken or unreadable,
 * 2 = usage.
 */
export const AUDIT_USAGE = `tsi audit verify [--file PATH] [--checkpoints DIR|gs://BUCKET/PREFIX] [--public-key PEM] [--json]
  Verify the audit log's hash chain and name the first changed, deleted, reordered or inserted
  record, then check the chain against its signed checkpoints: records deleted below a
  checkpoint, a record changed with the chain recomputed, or a forged checkpoint fail; records
  after the last checkpoint are counted as not anchored yet.
  Default file: <TSI_DATA_DIR, default .local>/audit/audit.jsonl with checkpoints from
  <TSI_DATA_DIR>/audit-checkpoints/. Also reads a Cloud Logging export (gcloud logging read
  'logName=…/logs/tsi-audit' --order=asc --format=json) of whole chains.
  Exit code 0 when the chain is intact, 1 when it is broken.
tsi audit public-key
  Print the checkpoint key's public half (PEM) for verifying without the secret.`;

export interface AuditIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
  cwd?: string;
}

export type AuditCommand =
  | { kind: 'help' }
  | { kind: 'public-key' }
  | { kind: 'verify'; file: string | null; json: boolean; checkpoints?: string; publicKey?: string };

export function parseAuditArgs(argv: readonly string[]): { ok: true; command: AuditCommand } | { ok: false; error: string } {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') return { ok: true, command: { kind: 'help' } };
  if (sub === 'public-key') return rest.length ? { ok: false, error: `audit public-key: unexpected argument "${rest[0]}"` } : { ok: true, command: { kind: 'public-key' } };
  if (sub !== 'verify') return { ok: false, error: `unknown audit command "${sub}"` };
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { file: { type: 'string' }, checkpoints: { type: 'string' }, 'public-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) return { ok: true, command: { kind: 'help' } };
    if (positionals.length) return { ok: false, error: `audit verify: unexpected argument "${positionals[0]}"` };
    for (const name of ['file', 'checkpoints', 'public-key'] as const) {
      if (values[name] !== undefined && values[name].trim() === '') return { ok: false, error: `--${name} must not be empty` };
    }
    return {
      ok: true,
      command: {
        kind: 'verify',
        file: values.file ?? null,
        json: values.json === true,
        ...(values.checkpoints !== undefined ? { checkpoints: values.checkpoints } : {}),
        ...(values['public-key'] !== undefined ? { publicKey: values['public-key'] } : {}),
      },
    };
  } catch (error) {
    return { ok: false, error: parseErrorText(error) };
  }
}

function dataDirOf(env: Record<string, string | undefined>, cwd = process.cwd()): string {
  return resolve(cwd, env.TSI_DATA_DIR?.trim() || '.local');
}

export function defaultAuditFile(env: Record<string, string | undefined>, cwd = process.cwd()): string {
  return resolve(dataDirOf(env, cwd), 'audit', 'audit.jsonl');
}

function sinkFor(where: string, cwd: string): CheckpointSink {
  const gs = /^gs:\/\/([^/]+)\/?(.*)$/.exec(where);
  if (gs) return new GcsCheckpointSink({ bucket: gs[1]!, prefix: gs[2]!.replace(/\/+$/, '') });
  return new LocalCheckpointSink(resolve(cwd, where));
}

/** The checkpoint key: the public key given, else the secret (never created here: verifying must not mint a key). */
async function loadVerifier(publicKeyFile: string | undefined, io: AuditIo, cwd: string): Promise<CheckpointVerifier | null> {
  if (publicKeyFile) return checkpointVerifier({ publicKeyPem: await readFile(resolve(cwd, publicKeyFile), 'utf8') });
  const config = loadConfig(io.env as NodeJS.ProcessEnv);
  const secrets = createSecretStore({ ...config, dataDir: dataDirOf(io.env, cwd) });
  try {
    return checkpointVerifier({ secretValue: await secrets.get(CHECKPOINT_KEY_SECRET) });
  } catch (error) {
    if (error instanceof MissingSecretError) return null;
    throw error;
  }
}

/** Each chain's good records (seq → hash, last good seq), from the verification's stopping point. */
function headsOf(records: readonly unknown[], chain: ChainVerification & { indexes?: number[] }): { heads: Map<number, string>; lastSeq: number } {
  const heads = new Map<number, string>();
  const indexes = chain.indexes ?? records.map((_, i) => i);
  const stop = chain.firstBad ? chain.firstBad.index : Infinity;
  for (const i of indexes) {
    if (i >= stop) break;
    const r = records[i] as { chain?: unknown; seq?: unknown; hash?: unknown } | null;
    if (r && typeof r === 'object' && r.chain === chain.chain && typeof r.seq === 'number' && typeof r.hash === 'string') heads.set(r.seq, r.hash);
  }
  return { heads, lastSeq: chain.head?.seq ?? -1 };
}

function describeProblem(p: CheckpointProblem): string {
  switch (p.kind) {
    case 'forged':
      return `forged checkpoint ${p.where}: ${p.detail}`;
    case 'truncated':
      return `truncated (seq ${p.seq}): ${p.detail}`;
    case 'rewritten':
      return `rewritten (seq ${p.seq}): ${p.detail}`;
    case 'missing-chain':
      return `missing chain ${p.chain}: ${p.detail}`;
  }
}

interface AnchorCheck {
  /** Per verified chain, in the order of `chains`. */
  reports: AnchorReport[];
  /** Problems with checkpoints that belong to no chain in the file. */
  other: CheckpointProblem[];
  /** Anchored chains absent from an export (exports may cover only some chains): informational. */
  notInExport: string[];
  sink: string;
}

async function checkCheckpoints(loaded: Loaded, chains: (ChainVerification & { indexes?: number[] })[], sink: CheckpointSink, key: () => Promise<CheckpointVerifier | null>): Promise<AnchorCheck> {
  const stored = await sink.list();
  // The key is read only when there is something to check with it.
  const verifier = stored.length ? await key() : null;
  const byChain = new Map<string, StoredCheckpoint[]>();
  const other: CheckpointProblem[] = [];
  for (const s of stored) {
    const chain = s.value && typeof s.value === 'object' && typeof (s.value as { chain?: unknown }).chain === 'string' ? (s.value as { chain: string }).chain : null;
    if (chain === null) other.push({ kind: 'forged', where: s.where, detail: 'not a well-formed checkpoint' });
    else byChain.set(chain, [...(byChain.get(chain) ?? []), s]);
  }
  const reports = chains.map((c) => {
    const { heads, lastSeq } = headsOf(loaded.records, c);
    const report = checkAnchors(c.chain, heads, lastSeq, byChain.get(c.chain ?? '') ?? [], verifier);
    // Past a break in the chain nothing can be compared: the break is the finding, not the anchor.
    if (!c.ok) report.problems = report.problems.filter((p) => p.kind !== 'truncated' && p.kind !== 'rewritten');
    return { ...report, ok: report.problems.length === 0 };
  });
  const present = new Set(chains.map((c) => c.chain));
  const notInExport: string[] = [];
  for (const [chain, list] of byChain) {
    if (present.has(chain)) continue;
    const report = checkAnchors(chain, new Map(), -1, list, verifier);
    const forged = report.problems.filter((p) => p.kind === 'forged');
    other.push(...forged);
    if (report.checkpoints === 0) continue;
    if (loaded.export) notInExport.push(chain);
    else other.push({ kind: 'missing-chain', chain, detail: `${report.checkpoints} signed checkpoint(s) vouch for this chain (up to seq ${Math.max(...list.map((s) => (s.value as { seq: number }).seq))}) but the file holds none of its records: the file was replaced or emptied` });
  }
  return { reports, other, notInExport, sink: sink.describe() };
}

interface Loaded {
  records: unknown[];
  /** Where each record came from, for messages (line numbers, or entry numbers of an export). */
  where: string[];
  export: boolean;
}

function isLibraryDiagnostic(payload: unknown): boolean {
  return !!payload && typeof payload === 'object' && Object.keys(payload).length === 1 && 'logging.googleapis.com/diagnostic' in payload;
}

/** Pure: the records of a JSON-lines file (unparseable lines kept as text so they count), or of an export. */
export function loadAuditText(text: string): Loaded {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    // The logging library adds one diagnostic entry (its name and version) per process to the log
    // it writes; it is not an audit record and belongs to no chain.
    const entries = (JSON.parse(trimmed) as { jsonPayload?: unknown; timestamp?: string; insertId?: string }[]).filter((e) => !isLibraryDiagnostic(e.jsonPayload));
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
  const cwd = io.cwd ?? process.cwd();
  if (parsed.command.kind === 'public-key') {
    try {
      const verifier = await loadVerifier(undefined, io, cwd);
      if (!verifier) {
        io.stderr.write(`error: no checkpoint key (secret ${CHECKPOINT_KEY_SECRET}); it is created when the audit log writes its first checkpoint\n`);
        return 1;
      }
      io.stdout.write(verifier.publicKeyPem);
      return 0;
    } catch (error) {
      io.stderr.write(`error: cannot read the checkpoint key: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  }
  const { json } = parsed.command;
  const file = parsed.command.file ? resolve(cwd, parsed.command.file) : defaultAuditFile(io.env, io.cwd);
  const checkpointsAt = parsed.command.checkpoints ?? (parsed.command.file ? null : localCheckpointDir(dataDirOf(io.env, io.cwd)));
  let loaded: Loaded;
  try {
    loaded = loadAuditText(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    io.stderr.write(code === 'ENOENT' ? `error: no audit file at ${file} (start the local stack once, or pass --file)\n` : `error: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const chains: (ChainVerification & { indexes?: number[] })[] = loaded.export ? verifyAuditChains(loaded.records, { startMidChain: true }).chains : [verifyAuditChain(loaded.records)];
  let anchors: AnchorCheck | null = null;
  if (checkpointsAt !== null) {
    try {
      const sink = sinkFor(checkpointsAt, cwd);
      const publicKey = parsed.command.publicKey;
      anchors = await checkCheckpoints(loaded, chains, sink, () => loadVerifier(publicKey, io, cwd));
    } catch (error) {
      io.stderr.write(`error: cannot check the checkpoints at ${checkpointsAt}: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  }
  const anchorsOk = anchors === null || (anchors.reports.every((r) => r.ok) && anchors.other.length === 0);
  const ok = chains.every((c) => c.ok) && anchorsOk;
  if (json) {
    const out = {
      ok,
      file,
      chains: chains.map(({ indexes: _i, ...c }, n) => ({ ...c, ...(c.firstBad ? { firstBad: { ...c.firstBad, where: loaded.where[c.firstBad.index] ?? 'end of file' } } : {}), ...(anchors ? { anchor: anchors.reports[n] } : {}) })),
      checkpoints: anchors ? { at: anchors.sink, problems: anchors.other, not_in_export: anchors.notInExport } : null,
    };
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  chains.forEach((c, n) => {
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
    const a = anchors?.reports[n];
    if (!a) return;
    if (!a.ok) for (const p of a.problems) io.stdout.write(`  ANCHOR BROKEN: ${describeProblem(p)}\n`);
    else if (a.anchoredSeq === null) io.stdout.write(`  NOT ANCHORED: no checkpoint for this chain yet; ${a.unanchored} record(s) are covered by the hashes only\n`);
    else io.stdout.write(`  anchored: ${a.checkpoints} checkpoint(s) match, the last at seq ${a.anchoredSeq}; ${a.unanchored} record(s) after it are not anchored yet\n`);
  });
  if (anchors === null) io.stdout.write(`checkpoints: not checked (pass --checkpoints DIR or gs://BUCKET/PREFIX)\n`);
  else {
    for (const p of anchors.other) io.stdout.write(`checkpoints ${anchors.sink}: ${describeProblem(p)}\n`);
    if (anchors.notInExport.length) io.stdout.write(`checkpoints ${anchors.sink}: ${anchors.notInExport.length} anchored chain(s) are not in this export (not checked)\n`);
  }
  io.stdout.write(`${file}: ${ok ? 'intact' : 'TAMPERED OR DAMAGED'}\n`);
  return ok ? 0 : 1;
}
