import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../shared/backup/drill.js';
import { Logger } from '../shared/platform/logger.js';
import { startStack } from './stack.js';

/**
 * `npm run drill`: the restore drill on a throwaway local stack (its own data folder, never your
 * .local): seed through the API, back up, restore into a fresh emulator, compare every document,
 * print RTO and RPO. Exits 1 on any difference.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'tsi-drill-stack-'));
const logger = new Logger({}, (line) => {
  if (process.env.LOG_LEVEL) process.stderr.write(line + '\n');
});
const say = (line: string) => process.stdout.write(line + '\n');

let code = 1;
const stack = await startStack({ ...process.env, TSI_MODE: 'local', PORT: '0', TSI_DATA_DIR: dataDir, TSI_WAREHOUSE_USERS: process.env.TSI_WAREHOUSE_USERS ?? '200', TSI_RECONCILE_SECONDS: '3600' }, logger);
try {
  say(`restore drill: local stack at ${stack.url} (data ${dataDir})`);
  const result = await runDrill({ url: stack.url, dataDir, projectId: stack.config.projectId, database: stack.config.firestoreDatabase }, logger, say);
  code = result.differences.length === 0 && result.documents > 0 ? 0 : 1;
  say(code === 0 ? 'drill passed' : 'drill FAILED');
} catch (error) {
  process.stderr.write(`drill failed: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(code);
