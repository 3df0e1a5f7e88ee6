import { mkdtempSync, rmSync } from 'node:fs';
import { LocalFolderBlobStore } from '../../shared/backup/blob-store.js';
import { vaultOn } from '../../shared/compliance/erasure/vault.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { LocalFileAuditLog } from '../../shared/audit/local-file.js';
import type { AuditLog } from '../../shared/audit/model.js';
import { buildCompliance, type Compliance } from '../../shared/compliance/index.js';
import { collectTokens, erasedInvestigation, replaceTokens } from '../../shared/compliance/anonymise.js';
import { mentionMatcher } from '../../shared/compliance/erasure/erase.js';
import { factsOf, holdsCovering, HoldDocSchema } from '../../shared/compliance/holds/model.js';
import { idBoundary } from '../../shared/compliance/retention/sweep.js';
import { subjectCryptoFrom, type SubjectCrypto } from '../../shared/compliance/subject-crypto.js';
import { BlindIndexer } from '../../shared/crypto/blind-index.js';
import { LocalKek } from '../../shared/crypto/kek/local.js';
import { DataProtection } from '../../shared/crypto/service.js';
import { SubjectKeyring } from '../../shared/crypto/subject-keys.js';
import type { PlatformEvent } from '../../shared/events/model.js';
import { maskSubjectValue } from '../../shared/investigations/model.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/**
 * Compliance throughput on the embedded Firestore emulator through the real client:
 * 1. erasure of one subject referenced by 10,000 investigations (half about them, half mentioning
 *    them), against a naive loop that reads, hold-checks and rewrites one document at a time;
 * 2. a retention sweep over 100,000 closed investigations past retention (10% under a query hold),
 *    against a naive loop that hold-checks, deletes and audits one document at a time.
 * The naive loops run on a sample (BENCH_NAIVE_SAMPLE, default 1,000 documents) and are compared
 * per document: docs/s optimised ÷ docs/s naive. BENCH_ERASURE_DOCS / BENCH_SWEEP_DOCS override sizes.
 */
const ERASURE_DOCS = Number(process.env.BENCH_ERASURE_DOCS ?? 10_000);
const SWEEP_DOCS = Number(process.env.BENCH_SWEEP_DOCS ?? 100_000);
const NAIVE_SAMPLE = Number(process.env.BENCH_NAIVE_SAMPLE ?? 1_000);
const quiet = new Logger({}, () => undefined, 'ERROR');
const out = (line = '') => process.stdout.write(line + '\n');
let seq = 0;
/** Ids as the platform makes them (time first), from a given time, without the monotonic factory. */
const idAt = (prefix: string, ms: number) => `${idBoundary(prefix, ms)}${String(seq++).padStart(16, '0')}`;

class NullPublisher {
  readonly kind = 'local' as const;
  async publish(_e: PlatformEvent) {}
  async ping() {}
  async close() {}
}

async function writeAll(db: Firestore, docs: [string, Record<string, unknown>][]): Promise<void> {
  for (let i = 0; i < docs.length; i += 450) {
    const b = db.batch();
    for (const [path, data] of docs.slice(i, i + 450)) b.set(db.doc(path), data);
    await b.commit();
  }
}

async function clear(db: Firestore, collection: string): Promise<void> {
  for (;;) {
    const page = await db.collection(collection).limit(450).get();
    if (page.empty) return;
    const b = db.batch();
    for (const d of page.docs) b.delete(d.ref);
    await b.commit();
  }
}

function baseDoc(id: string, at: string, subject: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    status: 'closed',
    subject,
    question: null,
    window_days: 30,
    sensitivity: 'standard',
    created_by: 'analyst@example.com',
    team: 'trust',
    created_at: at,
    updated_at: at,
    assignee: null,
    steps: [],
    findings: [],
    risk: null,
    recommended_action: null,
    summary: null,
    resolved_accounts: [],
    failure_reason: null,
    decision: { outcome: 'no_action', rationale: 'ok', closed_by: 'lead@example.com', closed_at: at },
    attempts: 1,
    lease: null,
    comments_count: 0,
    history: [],
    ...extra,
  };
}

async function seedErasure(db: Firestore, dp: DataProtection, subject: { type: string; value: string }, n: number, start: number): Promise<void> {
  const index = await dp.blindIndex(subject);
  const docs: [string, Record<string, unknown>][] = [];
  for (let i = 0; i < n; i++) {
    const at = new Date(start + i * 1000).toISOString();
    const id = idAt('inv', start + i * 1000);
    if (i % 2 === 0) {
      const sealed = await dp.encryptField({ subjectRef: { keyId: index }, docPath: `investigations/${id}`, field: 'subject.value', plaintext: subject.value });
      docs.push([`investigations/${id}`, baseDoc(id, at, { type: subject.type, index, display: maskSubjectValue('email', subject.value), sealed }, { summary: `Account ${subject.value} used 3 voices; linked u_${i}.` })]);
    } else {
      docs.push([`investigations/${id}`, baseDoc(id, at, { type: 'user_id', index: `other${String(i).padStart(20, '0')}`, display: `u_${i}`, sealed: 'x' }, { summary: `u_${i} shares a device with ${subject.value}.`, resolved_accounts: [`u_${i}`] })]);
    }
  }
  await writeAll(db, docs);
}

/** One document at a time: read it, load the holds, check, rewrite it alone. */
async function naiveErasure(db: Firestore, crypto: SubjectCrypto, subject: { index: string; type: string }, limit: number): Promise<number> {
  const match = mentionMatcher(crypto, subject);
  const ids = (await db.collection('investigations').limit(limit).get()).docs.map((d) => d.id);
  let n = 0;
  for (const id of ids) {
    const snap = await db.collection('investigations').doc(id).get();
    const holds = (await db.collection('legal_holds').where('state', '==', 'active').get()).docs.map((d) => HoldDocSchema.parse(d.data()));
    if (holdsCovering({ kind: 'investigation', investigation: factsOf(snap.data()!) }, holds).length) continue;
    const data = snap.data()!;
    if ((data.subject as { index?: string }).index === subject.index) await snap.ref.set(erasedInvestigation(data, new Date(), 'era_naive'));
    else {
      const hits = await match(collectTokens(data, new Set()));
      if (hits.size) await snap.ref.set(replaceTokens(data, hits).value);
    }
    n++;
  }
  return n;
}

/** One document at a time: load the holds, check, delete it alone, audit it alone. */
async function naiveSweep(db: Firestore, audit: AuditLog, limit: number): Promise<number> {
  const snap = await db.collection('investigations').where('status', '==', 'closed').limit(limit).get();
  let n = 0;
  for (const d of snap.docs) {
    const holds = (await db.collection('legal_holds').where('state', '==', 'active').get()).docs.map((h) => HoldDocSchema.parse(h.data()));
    if (holdsCovering({ kind: 'investigation', investigation: factsOf(d.data()) }, holds).length) continue;
    const idem = await db.collection('idempotency_keys').where('investigation_id', '==', d.id).get();
    for (const i of idem.docs) await i.ref.delete();
    await d.ref.delete();
    await audit.write({ actor: 'bench', roles: [], action: 'retention.delete', resource: `investigations/${d.id}`, outcome: 'allowed', reason: null, request_id: null, trace: null, source_ip: null });
    n++;
  }
  return n;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsi-bench-compliance-'));
  const server = new LocalFirestoreServer({ dataDir: join(dir, 'firestore'), logger: quiet });
  const { host, port } = await server.start(0);
  const db = createFirestore({ projectId: 'bench', emulatorHost: `${host}:${port}` });
  const clock = new ManualClock(new Date('2026-06-01T00:00:00Z'));
  const dp = new DataProtection({ keyring: new SubjectKeyring({ db, kek: new LocalKek(join(dir, 'keys'), () => clock.now()), clock }), indexer: new BlindIndexer(new LocalSecretStore(join(dir, 'secrets'))) });
  const crypto = subjectCryptoFrom(dp);
  const audit = new LocalFileAuditLog(join(dir, 'audit.jsonl'), clock);
  const c: Compliance = buildCompliance({ db, crypto, audit, publisher: new NullPublisher(), clock, logger: quiet, vault: vaultOn(new LocalFolderBlobStore(join(dir, 'vault')), clock) });
  const actor = { email: 'bench@example.com', roles: ['compliance'], team: null, requestId: null, trace: null, sourceIp: null };
  try {
    // 1. Erasure.
    const naiveSubject = { type: 'email', value: 'naive.subject@example.com' };
    await seedErasure(db, dp, naiveSubject, Math.min(NAIVE_SAMPLE, ERASURE_DOCS), Date.parse('2020-01-01T00:00:00Z'));
    let t = performance.now();
    const naiveDocs = await naiveErasure(db, crypto, { index: await dp.blindIndex(naiveSubject), type: 'email' }, NAIVE_SAMPLE);
    const naiveMs = performance.now() - t;
    await clear(db, 'investigations');

    const subject = { type: 'email', value: 'erase.me@example.com' };
    t = performance.now();
    await seedErasure(db, dp, subject, ERASURE_DOCS, Date.parse('2020-06-01T00:00:00Z'));
    const seedMs = performance.now() - t;
    const { doc } = await c.erasure.request(subject as never, actor);
    t = performance.now();
    const done = await c.erasure.execute(doc.id);
    const fastMs = performance.now() - t;
    const erased = done.receipt!.stores.find((s) => s.store === 'investigations')!.erased;
    const fastRate = (ERASURE_DOCS / fastMs) * 1000;
    const naiveRate = (naiveDocs / naiveMs) * 1000;
    out(`erasure: ${ERASURE_DOCS} investigations referencing one subject (seeded in ${(seedMs / 1000).toFixed(1)} s)`);
    out(`  batched executor : ${(fastMs / 1000).toFixed(2)} s, ${erased} erased, ${fastRate.toFixed(0)} docs/s, key destroyed: ${done.receipt!.key.had_key}`);
    out(`  naive 1-at-a-time: ${naiveDocs} docs in ${(naiveMs / 1000).toFixed(2)} s, ${naiveRate.toFixed(0)} docs/s`);
    out(`  throughput ratio : ${(fastRate / naiveRate).toFixed(1)}× the naive loop`);
    await clear(db, 'investigations');

    // 2. Retention sweep.
    await c.retention.update([{ kind: 'investigations.closed', days: 365 }], actor);
    const old = Date.parse('2021-01-01T00:00:00Z');
    t = performance.now();
    const docs: [string, Record<string, unknown>][] = [];
    for (let i = 0; i < SWEEP_DOCS; i++) {
      const at = new Date(old + i * 1000).toISOString();
      const id = idAt('inv', old + i * 1000);
      docs.push([`investigations/${id}`, baseDoc(id, at, { type: 'user_id', index: `idx${String(i).padStart(20, '0')}`, display: `u_${i}`, sealed: 'x' }, { team: i % 10 === 0 ? 'legal' : 'trust' })]);
      if (docs.length === 5000) await writeAll(db, docs.splice(0));
    }
    await writeAll(db, docs.splice(0));
    out(`retention: ${SWEEP_DOCS} closed investigations past retention seeded in ${((performance.now() - t) / 1000).toFixed(1)} s; 10% under a query hold`);
    await c.holds.place({ query: { team: 'legal' }, reason: 'bench', matter: 'BENCH-1' } as never, actor);
    t = performance.now();
    const report = await c.retention.run();
    const sweepMs = performance.now() - t;
    const closed = report.kinds.find((k) => k.kind === 'investigations.closed')!;
    const sweepRate = (closed.scanned / sweepMs) * 1000;
    out(`  batched sweep    : ${(sweepMs / 1000).toFixed(2)} s, scanned ${closed.scanned}, deleted ${closed.deleted}, kept under hold ${closed.blocked}, ${sweepRate.toFixed(0)} docs/s`);
    // Naive on the kept (held) documents plus fresh ones: seed a sample again.
    const sample: [string, Record<string, unknown>][] = [];
    for (let i = 0; i < NAIVE_SAMPLE; i++) {
      const id = idAt('inv', old - 1e9 + i * 1000);
      sample.push([`investigations/${id}`, baseDoc(id, new Date(old - 1e9 + i * 1000).toISOString(), { type: 'user_id', index: `n${String(i).padStart(20, '0')}`, display: 'u', sealed: 'x' }, { team: i % 10 === 0 ? 'legal' : 'trust' })]);
    }
    await writeAll(db, sample);
    t = performance.now();
    const naiveDeleted = await naiveSweep(db, audit, NAIVE_SAMPLE);
    const naiveSweepMs = performance.now() - t;
    const naiveSweepRate = (NAIVE_SAMPLE / naiveSweepMs) * 1000;
    out(`  naive 1-at-a-time: ${NAIVE_SAMPLE} docs (${naiveDeleted} deleted) in ${(naiveSweepMs / 1000).toFixed(2)} s, ${naiveSweepRate.toFixed(0)} docs/s`);
    out(`  throughput ratio : ${(sweepRate / naiveSweepRate).toFixed(1)}× the naive loop`);
  } finally {
    await audit.close();
    await db.terminate();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
