import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../cli/main.js';
import { runDrill } from '../../shared/backup/drill.js';
import { readEmulatorEndpoint } from '../../shared/backup/local-endpoint.js';
import { createFirestore } from '../../shared/store/firestore.js';
import { quietLogger, startTestStack, type TestStack } from '../e2e/harness.js';

/** The restore drill and the `tsi backup` commands against the real local stack. */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.destroy();
});

const io = () => {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { TSI_DATA_DIR: stack.dataDir } },
  };
};

it('backs up the running stack, restores into a fresh emulator and finds every document identical', async () => {
  const lines: string[] = [];
  const result = await runDrill({ url: stack.url, dataDir: stack.dataDir, projectId: stack.config.projectId, database: stack.config.firestoreDatabase }, quietLogger, (l) => lines.push(l));
  expect(result.documents).toBeGreaterThan(3);
  expect(result.differences).toEqual([]);
  expect(lines.some((l) => l.startsWith('RTO'))).toBe(true);
  expect(lines.some((l) => l.startsWith('RPO'))).toBe(true);
});

it('`tsi backup create` and `tsi backup restore --target` work against the running stack', async () => {
  expect(readEmulatorEndpoint(stack.dataDir)).not.toBeNull();
  const created = io();
  expect(await run(['backup', 'create'], created.io)).toBe(0);
  const id = /backup (backup-\w+):/.exec(created.out.join(''))![1]!;
  const backupDir = path.join(stack.dataDir, 'backups', id);
  expect(fs.existsSync(path.join(backupDir, 'manifest.json'))).toBe(true);

  const restored = io();
  expect(await run(['backup', 'restore', backupDir, '--target', 'drill-restore'], restored.io)).toBe(0);
  expect(restored.out.join('')).toMatch(/into database "drill-restore".*checksums and counts verified/s);

  const endpoint = readEmulatorEndpoint(stack.dataDir)!;
  const db = createFirestore({ projectId: stack.config.projectId, databaseId: 'drill-restore', emulatorHost: `${endpoint.host}:${endpoint.port}` });
  try {
    const bindings = await db.collection('role_bindings').get();
    expect(bindings.size).toBe(6);
  } finally {
    await db.terminate();
  }

  const again = io();
  expect(await run(['backup', 'restore', backupDir, '--target', 'drill-restore'], again.io)).toBe(1);
  expect(again.err.join('')).toMatch(/not empty/);
  const bad = io();
  expect(await run(['backup', 'restore', backupDir, '--target', '(default)'], bad.io)).toBe(2);
});
