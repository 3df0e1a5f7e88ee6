import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { systemClock, type Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { GENERATOR_VERSION, writeGroundTruth, writeWarehouseFolder } from './generator.js';
import { loadFolderIntoDuckDb, type LoadResult } from './load.js';

/**
 * The local warehouse file and its manifest. The file is built under a temporary name and renamed
 * into place, so a reader never sees a half-written warehouse, and a crash mid-build leaves only a
 * temporary file that the next start removes.
 */
export const REGENERATE_AFTER_DAYS = 14;

export function localWarehousePaths(dataDir: string) {
  const dir = join(dataDir, 'warehouse');
  return { dir, file: join(dir, 'warehouse.duckdb'), manifest: join(dir, 'manifest.json'), groundTruth: join(dir, 'ground-truth.json') };
}

const ManifestSchema = z.object({
  source: z.enum(['generator', 'folder']),
  built_at: z.string(),
  generator_version: z.number().int().optional(),
  users: z.number().int().optional(),
  seed: z.number().int().optional(),
  usage_rows: z.number().int().optional(),
  now: z.string().optional(),
  folder: z.string().optional(),
  rows: z.record(z.string(), z.number()),
});
export type Manifest = z.infer<typeof ManifestSchema>;

function readManifest(path: string): Manifest | null {
  try {
    return ManifestSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return null;
  }
}

async function build(dir: string, file: string, folder: string, logger: Logger): Promise<LoadResult> {
  const tmp = `${file}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  try {
    const result = await loadFolderIntoDuckDb({ folder, file: tmp, logger });
    rmSync(`${file}.wal`, { force: true });
    renameSync(tmp, file);
    return result;
  } catch (error) {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.wal`, { force: true });
    throw error;
  }
}

export interface EnsureLocalWarehouseOptions {
  dataDir: string;
  users: number;
  seed: number;
  /** Volume knob of the generator: at least this many usage rows (more accounts are added). */
  usageRows?: number;
  logger: Logger;
  clock?: Clock;
}

/**
 * Makes sure `<dataDir>/warehouse/warehouse.duckdb` exists. Generated demo data is rebuilt when
 * its size, seed or generator version changed, or when it is older than REGENERATE_AFTER_DAYS
 * (the planted patterns are relative to the day it was generated and would drift out of the
 * investigation window). A warehouse loaded from a folder, or one without a manifest, is never
 * replaced. Call it before any process opens the file: DuckDB allows one writer per file.
 */
export async function ensureLocalWarehouse(options: EnsureLocalWarehouseOptions): Promise<{ file: string; generated: boolean }> {
  const { dir, file, manifest: manifestPath } = localWarehousePaths(options.dataDir);
  const now = (options.clock ?? systemClock).now();
  if (existsSync(file)) {
    const manifest = readManifest(manifestPath);
    if (!manifest || manifest.source === 'folder') return { file, generated: false };
    const ageDays = (now.getTime() - Date.parse(manifest.now ?? manifest.built_at)) / 86_400_000;
    const same =
      manifest.generator_version === GENERATOR_VERSION && manifest.users === options.users && manifest.seed === options.seed && manifest.usage_rows === options.usageRows;
    if (same && ageDays >= 0 && ageDays < REGENERATE_AFTER_DAYS) return { file, generated: false };
    options.logger.info('regenerating the local warehouse', { reason: same ? 'data too old' : 'generator settings changed' });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const started = performance.now();
  const csvDir = join(dir, `.csv-${process.pid}`);
  try {
    // Streamed to CSV (memory stays flat at any volume), then through the same loader as any folder.
    const generated = writeWarehouseFolder(csvDir, { users: options.users, seed: options.seed, now, ...(options.usageRows !== undefined ? { usageRows: options.usageRows } : {}) });
    const result = await build(dir, file, csvDir, options.logger);
    writeGroundTruth(dir, generated.groundTruth);
    const manifest: Manifest = {
      source: 'generator',
      built_at: now.toISOString(),
      generator_version: GENERATOR_VERSION,
      users: options.users,
      seed: options.seed,
      ...(options.usageRows !== undefined ? { usage_rows: options.usageRows } : {}),
      now: now.toISOString(),
      rows: result.rows,
    };
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  } finally {
    rmSync(csvDir, { recursive: true, force: true });
  }
  options.logger.info('generated the local warehouse', { users: options.users, seed: options.seed, duration_ms: Math.round(performance.now() - started) });
  return { file, generated: true };
}

/**
 * Replaces the local warehouse with a folder of contract data (`<table>.csv`, `.csv.gz` or
 * `.parquet`). The data is validated against the contract first; on any violation
 * (`ContractViolationError`) the current warehouse stays as it was. A `ground-truth.json` in the
 * folder (as `tsi warehouse generate` writes) is kept next to the warehouse; otherwise any previous
 * one is removed, since it described other data.
 *
 * The new file is renamed over the old one: a process that already has the old file open (a
 * running `npm start`) keeps reading the old data until it reopens the warehouse.
 */
export async function loadLocalWarehouseFromFolder(options: {
  dataDir: string;
  folder: string;
  logger: Logger;
  clock?: Clock;
}): Promise<LoadResult & { file: string; groundTruth: boolean }> {
  const { dir, file, manifest: manifestPath, groundTruth } = localWarehousePaths(options.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const result = await build(dir, file, options.folder, options.logger);
  const truthInFolder = join(options.folder, 'ground-truth.json');
  const keepTruth = existsSync(truthInFolder);
  if (keepTruth) copyFileSync(truthInFolder, groundTruth);
  else rmSync(groundTruth, { force: true });
  const manifest: Manifest = { source: 'folder', built_at: (options.clock ?? systemClock).now().toISOString(), folder: options.folder, rows: result.rows };
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return { ...result, file, groundTruth: keepTruth };
}
