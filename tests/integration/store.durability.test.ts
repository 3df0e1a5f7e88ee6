import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { ConfigError } from '../../shared/platform/errors.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/**
 * Durability of the local Firestore: a process killed with SIGKILL loses no acknowledged write,
 * a torn final log record is skipped with a warning, real corruption refuses to start.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-store-durable-'));
const walPath = (dir: string) => path.join(dir, 'firestore', 'wal.log');

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: new Logger({}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(dataDir: string, logger = capturingLogger().logger, opts: { compactEvery?: number } = {}) {
  const server = new LocalFirestoreServer({ dataDir, logger, ...opts });
  const { host, port } = await server.start(0);
  const db = createFirestore({ projectId: 'tsi-test', emulatorHost: `${host}:${port}` });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await db.terminate();
    await server.stop();
  };
  cleanups.push(close);
  return { server, db, close };
}

/**
 * Runs writes in a separate Node process against its own LocalFirestoreServer, waits until they
 * are all acknowledged, then kills that process with SIGKILL: no stop(), no compaction.
 */
async function writeThenKill(dataDir: string): Promise<void> {
  const script = `
    import { LocalFirestoreServer } from '${root}/shared/store/emulator-server.ts';
    import { createFirestore } from '${root}/shared/store/firestore.ts';
    import { Logger } from '${root}/shared/platform/logger.ts';
    import { FieldValue, Timestamp } from '@google-cloud/firestore';
    const server = new LocalFirestoreServer({ dataDir: process.env.DATA_DIR, logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    const db = createFirestore({ projectId: 'tsi-test', emulatorHost: host + ':' + port });
    for (let i = 0; i < 10; i++) await db.doc('acks/a' + i).set({ i, at: Timestamp.fromMillis(i) });
    await server.compact();
    for (let i = 10; i < 20; i++) await db.doc('acks/a' + i).set({ i });
    const batch = db.batch();
    batch.set(db.doc('acks/batch1'), { ok: true });
    batch.set(db.doc('acks/batch1/sub/s1'), { nested: { deep: [1, 2] } });
    batch.delete(db.doc('acks/a0'));
    await batch.commit();
    await db.runTransaction(async (tx) => {
      const snap = await tx.get(db.doc('acks/a1'));
      tx.update(snap.ref, { i: snap.get('i') + 100, tags: FieldValue.arrayUnion('x') });
    });
    process.stdout.write('ACKED\\n');
    setInterval(() => {}, 60_000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ACKED')) resolve();
    });
    child.once('exit', () => reject(new Error(`writer process ended before acknowledging: ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

async function expectAllAcknowledgedWrites(db: Firestore): Promise<void> {
  const ids = (await db.collection('acks').get()).docs.map((d) => d.id).sort();
  expect(ids).toEqual([...Array.from({ length: 19 }, (_, i) => `a${i + 1}`), 'batch1'].sort());
  expect((await db.doc('acks/a1').get()).data()).toEqual({ i: 101, at: expect.anything(), tags: ['x'] });
  expect((await db.doc('acks/a19').get()).data()).toEqual({ i: 19 });
  expect((await db.doc('acks/batch1/sub/s1').get()).data()).toEqual({ nested: { deep: [1, 2] } });
}

describe('local Firestore durability', () => {
  test('a hard-killed server loses no acknowledged write', async () => {
    const dir = tempDir();
    await writeThenKill(dir);

    const { db } = await open(dir);
    await expectAllAcknowledgedWrites(db);
  });

  test('a torn final log record is ignored with a warning, and later writes stay readable', async () => {
    const dir = tempDir();
    await writeThenKill(dir);
    // An append cut short: a header announcing 200 bytes, followed by only 5 of them.
    const torn = Buffer.alloc(13);
    torn.writeUInt32LE(200, 0);
    fs.appendFileSync(walPath(dir), torn);

    const { logger, lines } = capturingLogger();
    const first = await open(dir, logger);
    expect(lines.some((l) => l.severity === 'WARNING' && String(l.message).includes('torn'))).toBe(true);
    await expectAllAcknowledgedWrites(first.db);
    await first.db.doc('late/after').set({ late: true });
    // Copy the files as they are now, with the server still running: a hard kill at this point.
    const killedCopy = tempDir();
    fs.mkdirSync(path.join(killedCopy, 'firestore'));
    for (const f of ['wal.log', 'snapshot.bin']) fs.copyFileSync(path.join(dir, 'firestore', f), path.join(killedCopy, 'firestore', f));

    const second = await open(killedCopy);
    expect((await second.db.doc('late/after').get()).data()).toEqual({ late: true });
    await expectAllAcknowledgedWrites(second.db);
  });

  test('damage in the middle of the log refuses to start instead of dropping writes', async () => {
    const dir = tempDir();
    const s = await open(dir);
    await s.db.doc('x/1').set({ v: 1 });
    await s.db.doc('x/2').set({ v: 2 });
    await s.db.terminate();
    const wal = fs.readFileSync(walPath(dir));
    // Keep a copy of the log as it was, then flip a byte inside the first record.
    const damaged = Buffer.from(wal);
    damaged[12] = damaged[12]! ^ 0xff;
    const dir2 = tempDir();
    fs.mkdirSync(path.join(dir2, 'firestore'));
    fs.writeFileSync(walPath(dir2), damaged);

    const server = new LocalFirestoreServer({ dataDir: dir2, logger: capturingLogger().logger });
    await expect(server.start(0)).rejects.toBeInstanceOf(ConfigError);
    // The refused start released the directory: a repaired log opens.
    fs.writeFileSync(walPath(dir2), wal);
    const repaired = await open(dir2);
    expect((await repaired.db.doc('x/2').get()).data()).toEqual({ v: 2 });
  });

  test('a damaged length field in the middle of the log refuses to start instead of truncating the log as a torn tail', async () => {
    // Found by the faults proof suite (tests/proof/faults.ts): a first record whose length field
    // claims more bytes than the file holds looked like an interrupted final append, and the whole
    // log, acknowledged writes included, was truncated silently.
    const dir = tempDir();
    const s = await open(dir);
    await s.db.doc('x/1').set({ v: 1 });
    await s.db.doc('x/2').set({ v: 2 });
    await s.db.terminate();
    const wal = fs.readFileSync(walPath(dir));
    const damaged = Buffer.from(wal);
    damaged.writeUInt32LE(0x7fff_ff00, 0);
    const dir2 = tempDir();
    fs.mkdirSync(path.join(dir2, 'firestore'));
    fs.writeFileSync(walPath(dir2), damaged);

    const server = new LocalFirestoreServer({ dataDir: dir2, logger: capturingLogger().logger });
    await expect(server.start(0)).rejects.toBeInstanceOf(ConfigError);
    expect(fs.readFileSync(walPath(dir2))).toEqual(damaged);
  });

  test('automatic compaction keeps the log short and loses nothing', async () => {
    const dir = tempDir();
    const s = await open(dir, undefined, { compactEvery: 5 });
    for (let i = 0; i < 12; i++) await s.db.doc(`c/d${i}`).set({ i });
    expect(s.server.stats()).toEqual({ documents: 12, walRecords: 2 });
    await s.close();
    expect(fs.statSync(walPath(dir)).size).toBe(0);

    const again = await open(dir);
    expect((await again.db.collection('c').get()).size).toBe(12);
    expect(again.server.stats()).toEqual({ documents: 12, walRecords: 0 });
  });

  test('a data directory is used by one server at a time', async () => {
    const dir = tempDir();
    await open(dir);
    const second = new LocalFirestoreServer({ dataDir: dir, logger: capturingLogger().logger });
    await expect(second.start(0)).rejects.toBeInstanceOf(ConfigError);
  });
});
