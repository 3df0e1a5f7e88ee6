import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import type { AuditInput, AuditLog } from '../../shared/audit/model.js';
import { LocalFolderBlobStore } from '../../shared/backup/blob-store.js';
import { buildCompliance, type Compliance } from '../../shared/compliance/index.js';
import { vaultOn, type Vault } from '../../shared/compliance/erasure/vault.js';
import { subjectCryptoFrom } from '../../shared/compliance/subject-crypto.js';
import { BlindIndexer } from '../../shared/crypto/blind-index.js';
import { LocalKek } from '../../shared/crypto/kek/local.js';
import { DataProtection } from '../../shared/crypto/service.js';
import { SubjectKeyring } from '../../shared/crypto/subject-keys.js';
import type { PlatformEvent } from '../../shared/events/model.js';
import type { EventPublisher } from '../../shared/events/port.js';
import type { InvestigationDoc } from '../../shared/investigations/model.js';
import { InvestigationPii } from '../../shared/investigations/pii.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { newId } from '../../shared/platform/ids.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer, type LocalFirestoreServerOptions } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** Shared set-up of the compliance integration tests: the real Firestore client on the embedded emulator. */
export const quiet = new Logger({}, () => {});

export class MemoryAudit implements AuditLog {
  readonly kind = 'local' as const;
  records: AuditInput[] = [];
  async write(r: AuditInput) {
    this.records.push(r);
  }
  async query() {
    return { items: [], next_page_token: null };
  }
  async ping() {}
}

export class MemoryPublisher implements EventPublisher {
  readonly kind = 'local' as const;
  events: PlatformEvent[] = [];
  async publish(e: PlatformEvent) {
    this.events.push(e);
  }
  async ping() {}
  async close() {}
}

export interface Fixture {
  db: Firestore;
  /** host:port of the emulator (other databases, backup clients). */
  host: string;
  dir: string;
  clock: ManualClock;
  audit: MemoryAudit;
  publisher: MemoryPublisher;
  dp: DataProtection;
  store: InvestigationStore;
  compliance: Compliance;
  /** The erasure ledger and key escrow, outside the database (a folder beside it). */
  vault: Vault;
  stop(): Promise<void>;
}

export async function startFixture(start = new Date('2026-03-01T09:00:00Z'), serverOptions: Partial<LocalFirestoreServerOptions> = {}): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-compliance-'));
  const server = new LocalFirestoreServer({ dataDir: path.join(dir, 'firestore'), logger: quiet, ...serverOptions });
  const { host, port } = await server.start(0);
  const db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
  const clock = new ManualClock(start);
  const kek = new LocalKek(path.join(dir, 'keys'), () => clock.now());
  const dp = new DataProtection({ keyring: new SubjectKeyring({ db, kek, clock }), indexer: new BlindIndexer(new LocalSecretStore(path.join(dir, 'secrets'))) });
  const store = new InvestigationStore(db, new InvestigationPii(dp), clock);
  const audit = new MemoryAudit();
  const publisher = new MemoryPublisher();
  const vault = vaultOn(new LocalFolderBlobStore(path.join(dir, 'vault')), clock);
  const compliance = buildCompliance({ db, crypto: subjectCryptoFrom(dp), audit, publisher, clock, logger: quiet, vault });
  return {
    db,
    host: `${host}:${port}`,
    dir,
    clock,
    audit,
    publisher,
    dp,
    store,
    compliance,
    vault,
    async stop() {
      await db.terminate();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const compliance = { email: 'compliance@example.com', roles: ['compliance'], team: null, requestId: null, trace: null, sourceIp: null };
/** A second compliance officer: holds need two people (the placer cannot release). */
export const compliance2 = { ...compliance, email: 'compliance2@example.com' };

/** Writes an investigation through the real store (subject and question sealed), with content. */
export async function seedInvestigation(
  f: Fixture,
  subject: { type: 'email' | 'user_id' | 'ip'; value: string },
  patch: Partial<InvestigationDoc> = {},
  opts: { comments?: string[]; idempotencyBody?: unknown } = {},
): Promise<InvestigationDoc> {
  const now = f.clock.now();
  const at = now.toISOString();
  const doc: InvestigationDoc = {
    id: newId('inv', now.getTime()),
    status: 'completed',
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
    decision: null,
    attempts: 1,
    lease: null,
    comments_count: 0,
    history: [],
    ...patch,
  };
  await f.store.create(doc, [], (d) => ({ status: 202, body: opts.idempotencyBody ?? { id: d.id } }), opts.idempotencyBody ? { key: `k-${doc.id}`, actor: 'analyst@example.com', requestHash: 'h' } : undefined);
  for (const body of opts.comments ?? []) {
    const c = { id: newId('cmt', f.clock.now().getTime()), author: 'analyst@example.com', body, created_at: f.clock.now().toISOString() };
    await f.store.addComment(doc.id, c, (d) => ({ doc: { ...d, comments_count: d.comments_count + 1 }, events: [] }));
  }
  return (await f.db.collection('investigations').doc(doc.id).get()).data() as InvestigationDoc;
}

export const ALL_COLLECTIONS = [
  'investigations',
  'outbox',
  'idempotency_keys',
  'webhook_deliveries',
  'webhook_attempts',
  'legal_holds',
  'erasure_requests',
  'erasure_ledger',
  'subject_keys',
  'retention_policies',
];

/** Every document of every collection the platform writes (comments through a collection group), as JSON text. */
export async function dumpAll(db: Firestore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of ALL_COLLECTIONS) for (const d of (await db.collection(c).get()).docs) out.set(d.ref.path, JSON.stringify(d.data()));
  for (const d of (await db.collectionGroup('comments').get()).docs) out.set(d.ref.path, JSON.stringify(d.data()));
  return out;
}
