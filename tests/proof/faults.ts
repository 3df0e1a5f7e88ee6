/**
 * Proof suite "faults" (issue 12.4): the local stack as a child process (`npm start`'s own entry,
 * local/start.ts) is killed with SIGKILL while 20 investigations run, then restarted on the same
 * data folder: every investigation must end completed, or failed with a reason (stuck=0, lost=0),
 * and `tsi audit verify` must pass on the data folder. Then data files are damaged (the local
 * KEK file removed; the Firestore snapshot corrupted; the write-ahead log damaged in its first
 * record's payload and length field) and start-up must refuse with a message
 * naming the file (exit code ≠ 0), instead of starting and losing data.
 *
 *   npm run proof:faults          # PROOF_REQUESTS = investigations (default 20)
 *
 * The child runs with a short worker lease (TSI_LEASE_SECONDS=5) and reconcile tick (2 s), so a
 * run orphaned by the kill is taken over within the bound instead of after the production 300 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, cpSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEADER_BYTES } from '../../shared/store/emulator/framing.js';
import { call, envInt, Figures, freshDataDir, globalTimeout, sleep, stackEnv, TERMINAL, tokenFor } from './common.js';

const INVESTIGATIONS = envInt('PROOF_REQUESTS', 20);
const SETTLE_SECONDS = envInt('PROOF_SECONDS', 60);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const figures = new Figures('faults');
globalTimeout(figures, SETTLE_SECONDS + 200);

interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnStack(dataDir: string): Child {
  const env = stackEnv(dataDir, {
    TSI_LEASE_SECONDS: '5',
    TSI_RECONCILE_SECONDS: '2',
    // INFO: the restarted stack's log says when the reconciler skips a tick, for the failure report.
    LOG_LEVEL: 'INFO',
    TSI_RATE_CREATE_PER_MINUTE: '10000',
    TSI_RATE_WRITE_PER_MINUTE: '100000',
  });
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code, signal) => r(code ?? (signal ? 128 : null))));
  return { proc, output: () => out, exited };
}

/** Resolves with the stack's URL once it prints it, or with the exit code if it stops first. */
async function ready(child: Child, timeoutMs = 90_000): Promise<{ url: string } | { exit: number | null }> {
  const deadline = Date.now() + timeoutMs;
  let exit: number | null | undefined;
  void child.exited.then((c) => (exit = c));
  while (Date.now() < deadline) {
    const m = /API gateway\s+(http:\/\/\S+)/.exec(child.output());
    if (m) return { url: m[1]!.replace('localhost', '127.0.0.1') };
    if (exit !== undefined) return { exit };
    await sleep(100);
  }
  child.proc.kill('SIGKILL');
  throw new Error(`the stack printed no URL within ${timeoutMs} ms:\n${child.output().slice(-2000)}`);
}

function findFile(dir: string, name: string): string | null {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (entry === name) return p;
    if (statSync(p).isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    }
  }
  return null;
}

async function runCli(args: string[], dataDir: string): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, ['bin/tsi.js', ...args], { cwd: ROOT, env: stackEnv(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { code, out };
}

/** Starts the stack on a damaged folder: it must exit ≠ 0 with a message naming `file`. */
async function mustRefuse(dataDir: string, damage: string, file: string): Promise<boolean> {
  const child = spawnStack(dataDir);
  const result = await ready(child);
  if ('url' in result) {
    figures.fail(`with ${damage}, the stack started (${result.url}) instead of refusing`);
    child.proc.kill('SIGKILL');
    await child.exited;
    return false;
  }
  const out = child.output();
  if (result.exit === 0) figures.fail(`with ${damage}, the stack exited 0`);
  else if (!out.includes(file)) figures.fail(`with ${damage}, the stack exited ${result.exit} without naming ${file}: ${out.slice(-600)}`);
  else {
    const line = out.split('\n').find((l) => l.includes(file)) ?? '';
    process.stdout.write(`  refused (${damage}), exit ${result.exit}: ${line.trim().slice(0, 300)}\n`);
    return true;
  }
  return false;
}

async function main(): Promise<void> {
  const dataDir = await freshDataDir('faults');
  process.stdout.write(`proof faults: ${INVESTIGATIONS} investigations, data in ${dataDir}\n`);

  // 1. Start, submit the investigations, and kill -9 while they run.
  let child = spawnStack(dataDir);
  let started = await ready(child);
  if (!('url' in started)) throw new Error(`the stack did not start (exit ${started.exit}):\n${child.output().slice(-2000)}`);
  let base = started.url;
  const analyst = await tokenFor(base, 'analyst@example.com');
  // The warehouse's demo subjects (real accounts with findings): runs with several steps each.
  const truth = JSON.parse(readFileSync(join(dataDir, 'warehouse', 'ground-truth.json'), 'utf8')) as { demo_subjects: { subject: { type: string; value: string } }[] };
  const subjects = truth.demo_subjects.map((d) => d.subject);
  const answers = await Promise.all(
    Array.from({ length: INVESTIGATIONS }, (_, i) =>
      call(base, 'POST', '/v1/investigations', { token: analyst, body: { subject: subjects[i % subjects.length], window_days: 90 }, headers: { 'idempotency-key': randomUUID() } }),
    ),
  );
  const ids: string[] = [];
  for (const res of answers) {
    figures.count('POST', '/v1/investigations', res);
    if ((res.status === 201 || res.status === 202) && typeof res.body?.id === 'string') ids.push(res.body.id);
    else figures.fail(`create before the kill: ${res.status} ${res.text.slice(0, 200)}`);
  }
  // Killed the moment the last create is answered: the runs are queued or mid-step.
  const killedAt = new Date().toISOString();
  child.proc.kill('SIGKILL');
  await child.exited;
  // The folder as the kill left it (write-ahead log not compacted), for the damaged-log cases below.
  const afterKill = `${dataDir}-after-kill`;
  cpSync(dataDir, afterKill, { recursive: true });
  process.stdout.write(`  killed with SIGKILL right after ${ids.length} creates were accepted\n`);

  // 2. Restart on the same folder: every investigation ends, with a reason when it failed.
  child = spawnStack(dataDir);
  started = await ready(child);
  if (!('url' in started)) throw new Error(`the stack did not restart after the kill (exit ${started.exit}):\n${child.output().slice(-2000)}`);
  base = started.url;
  const token = await tokenFor(base, 'analyst@example.com');
  const settleBy = Date.now() + SETTLE_SECONDS * 1000;
  const final = new Map<string, any>();
  let pending = ids.slice();
  while (pending.length && Date.now() < settleBy) {
    const still: string[] = [];
    for (const id of pending) {
      const res = await call(base, 'GET', `/v1/investigations/${id}`, { token });
      figures.count('GET', '/v1/investigations/{id}', res);
      if (res.status === 404) {
        figures.lost++;
        figures.fail(`investigation ${id}, accepted before the kill, is gone after the restart`);
      } else if (res.status === 200 && (TERMINAL as readonly string[]).includes(res.body.status)) final.set(id, res.body);
      else still.push(id);
    }
    pending = still;
    if (pending.length) await sleep(500);
  }
  for (const id of pending) {
    figures.stuck++;
    const res = await call(base, 'GET', `/v1/investigations/${id}`, { token });
    const inv = res.body ?? {};
    const last = Array.isArray(inv.steps) ? inv.steps.slice(-1)[0] : undefined;
    figures.fail(`investigation ${id} not finished ${SETTLE_SECONDS} s after the restart: status=${inv.status} attempts=${inv.attempts} updated_at=${inv.updated_at} (killed at ${killedAt}) steps=${inv.steps?.length} last_step=${JSON.stringify(last ?? null).slice(0, 200)}`);
  }
  if (pending.length) {
    const skips = child.output().split('\n').filter((l) => l.includes('another run of this job holds its lease'));
    if (skips.length) figures.fail(`the restarted stack's reconciler skipped ${skips.length} tick(s) because a job lease was still held (by the killed instance?): ${skips[0]!.slice(0, 300)}`);
  }
  let completed = 0;
  let failed = 0;
  // Changed after the kill = the killed instance had not finished it; the restarted one did.
  const inFlight = [...final.values()].filter((inv) => inv.updated_at > killedAt).length;
  for (const [id, inv] of final) {
    if (inv.status === 'completed') completed++;
    else if (inv.status === 'failed' && typeof inv.failure_reason === 'string' && inv.failure_reason.trim()) failed++;
    else figures.fail(`investigation ${id} ended ${inv.status} without a reason (failure_reason=${JSON.stringify(inv.failure_reason)})`);
  }
  child.proc.kill('SIGTERM');
  const stopCode = await child.exited;
  if (stopCode !== 0) figures.fail(`clean stop after the restart exited ${stopCode}: ${child.output().slice(-600)}`);

  // 3. The audit chain of the whole run (including the killed instance's records) verifies.
  const verify = await runCli(['audit', 'verify'], dataDir);
  if (verify.code !== 0) figures.fail(`tsi audit verify exited ${verify.code}: ${verify.out.slice(-1200)}`);
  else process.stdout.write(`  tsi audit verify: ${verify.out.trim().split('\n').slice(-1)[0]?.slice(0, 200)}\n`);

  // 4. Damaged data files: start-up refuses, naming the file.
  let refusals = 0;
  const kek = findFile(dataDir, 'kek.json');
  if (!kek) figures.fail('no kek.json in the data folder to damage');
  else {
    renameSync(kek, `${kek}.moved`);
    if (await mustRefuse(dataDir, 'kek.json removed', 'kek.json')) refusals++;
    renameSync(`${kek}.moved`, kek);
  }
  const snapshot = findFile(dataDir, 'snapshot.bin');
  if (!snapshot) figures.fail('no snapshot.bin in the data folder after a clean stop');
  else {
    const size = statSync(snapshot).size;
    const fd = openSync(snapshot, 'r+');
    writeSync(fd, Buffer.from('damaged by the faults proof suite'), 0, 33, Math.floor(size / 2));
    closeSync(fd);
    if (await mustRefuse(dataDir, 'snapshot.bin overwritten in the middle', 'snapshot.bin')) refusals++;
  }
  // The write-ahead log as the kill left it, damaged in its first record: acknowledged writes
  // follow it, so start-up must refuse (a torn tail is the only damage it may repair silently).
  const walCases: { damage: string; apply: (wal: Buffer) => void }[] = [
    { damage: 'wal.log: a byte of the first record overwritten', apply: (wal) => (wal[HEADER_BYTES + 2] = wal[HEADER_BYTES + 2]! ^ 0xff) },
    { damage: "wal.log: the first record's length field overwritten", apply: (wal) => wal.writeUInt32LE(0x7fff_ff00, 0) },
  ];
  for (const c of walCases) {
    const dir = `${dataDir}-wal`;
    rmSync(dir, { recursive: true, force: true });
    cpSync(afterKill, dir, { recursive: true });
    const wal = findFile(dir, 'wal.log');
    if (!wal || statSync(wal).size < 64) {
      figures.fail(`no write-ahead log with records after the kill to damage (${wal ?? 'none'})`);
      continue;
    }
    const bytes = readFileSync(wal);
    c.apply(bytes);
    writeFileSync(wal, bytes);
    if (await mustRefuse(dir, c.damage, 'wal.log')) refusals++;
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(afterKill, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  Object.assign(figures.extra, {
    investigations: ids.length,
    finished_after_restart: inFlight,
    completed,
    failed_with_reason: failed,
    audit_verified: verify.code === 0 ? 1 : 0,
    refused_damaged_starts: `${refusals}/${2 + walCases.length}`,
  });
  figures.finish();
}

main().catch((error) => {
  figures.fail(`suite error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  figures.finish();
});
