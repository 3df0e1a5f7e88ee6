import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../platform/logger.js';
import { LocalFirestoreServer } from '../store/emulator-server.js';
import { compareDatabases, type Difference } from './compare.js';
import { createBackup } from './export.js';
import { backupFirestore } from './firestore.js';
import { readEmulatorEndpoint } from './local-endpoint.js';
import { restoreBackup } from './restore.js';
import { LocalFolderBackupStore } from './store.js';
import { createErasureLedgerReplay } from '../compliance/erasure/ledger.js';
import { openVault } from '../compliance/erasure/vault.js';

/**
 * The restore drill: put a few investigations into a running local stack through its API,
 * back the stack's Firestore up, restore the backup into a fresh emulator, compare every
 * document field by field. RTO = time to restore (fetch, verify, write, re-count, ledger replay);
 * RPO = age of the backup (since its start) when the restored database is ready.
 */
export interface DrillStack {
  url: string;
  dataDir: string;
  projectId: string;
  database: string;
}

export interface DrillResult {
  backupId: string;
  documents: number;
  differences: Difference[];
  backupMs: number;
  rtoMs: number;
  rpoMs: number;
}

const SUBJECTS = [
  { type: 'email', value: 'ban.evader@example.com' },
  { type: 'ip', value: '203.0.113.77' },
  { type: 'email', value: 'clean.user@example.com' },
];

export async function runDrill(stack: DrillStack, logger: Logger, say: (line: string) => void = () => undefined): Promise<DrillResult> {
  const endpoint = readEmulatorEndpoint(stack.dataDir);
  if (!endpoint) throw new Error(`No running local stack serves ${stack.dataDir}.`);
  await seedThroughApi(stack.url);
  say(`seeded ${SUBJECTS.length} investigations through ${stack.url}`);

  const work = await mkdtemp(join(tmpdir(), 'tsi-drill-'));
  const source = backupFirestore({ projectId: stack.projectId, databaseId: stack.database, emulatorHost: `${endpoint.host}:${endpoint.port}` });
  const fresh = new LocalFirestoreServer({ dataDir: join(work, 'restored'), logger });
  let target: ReturnType<typeof backupFirestore> | undefined;
  try {
    const store = new LocalFolderBackupStore(join(work, 'backups'));
    const b0 = Date.now();
    // The stack's own vault: its escrow seals the subject keys, its ledger is replayed.
    const { escrow, ledger } = openVault({ adapters: { store: 'emulator' }, dataDir: stack.dataDir, projectId: stack.projectId });
    const manifest = await createBackup({ db: source, store, source: { project: stack.projectId, database: stack.database }, clock: { now: () => new Date() }, logger, escrow, ledger });
    const backupMs = Date.now() - b0;
    say(`backup ${manifest.backup_id}: ${manifest.total_documents} documents, ${manifest.files.length} files, ${backupMs} ms`);

    const { host, port } = await fresh.start(0);
    target = backupFirestore({ projectId: stack.projectId, databaseId: stack.database, emulatorHost: `${host}:${port}` });
    const r0 = Date.now();
    await restoreBackup({ store, backupId: manifest.backup_id, db: target, logger, escrow, ledger, replayErasureLedger: createErasureLedgerReplay(null) });
    const restoredAt = Date.now();
    const rtoMs = restoredAt - r0;
    const rpoMs = restoredAt - Date.parse(manifest.started_at);

    const { documents, differences } = await compareDatabases(source, target);
    say(`compared ${documents} documents field by field: ${differences.length} difference(s)`);
    for (const d of differences.slice(0, 20)) say(`  ${d.problem}: ${d.path}`);
    say(`RTO (restore into a fresh emulator, verified): ${(rtoMs / 1000).toFixed(2)} s`);
    say(`RPO (age of the backup when the restore was ready): ${(rpoMs / 1000).toFixed(2)} s`);
    return { backupId: manifest.backup_id, documents, differences, backupMs, rtoMs, rpoMs };
  } finally {
    await source.terminate();
    await target?.terminate();
    await fresh.stop();
    await rm(work, { recursive: true, force: true });
  }
}

async function seedThroughApi(url: string): Promise<void> {
  const tokenRes = await fetch(`${url}/_local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'analyst@example.com' }) });
  if (!tokenRes.ok) throw new Error(`local token: HTTP ${tokenRes.status}`);
  const { token } = (await tokenRes.json()) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  const ids: string[] = [];
  for (const subject of SUBJECTS) {
    const res = await fetch(`${url}/v1/investigations`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ subject }) });
    if (res.status !== 202) throw new Error(`creating an investigation: HTTP ${res.status}`);
    ids.push(((await res.json()) as { id: string }).id);
  }
  // Wait for the workers, so the data is quiet while it is compared.
  const deadline = Date.now() + 60_000;
  for (const id of ids) {
    for (;;) {
      const res = await fetch(`${url}/v1/investigations/${id}`, { headers: auth });
      const body = (await res.json()) as { status?: string };
      if (['completed', 'failed', 'cancelled'].includes(body.status ?? '')) break;
      if (Date.now() > deadline) throw new Error(`investigation ${id} did not finish`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
