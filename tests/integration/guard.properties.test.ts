import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { CONTRACT, TABLE_NAMES } from '../../shared/warehouse/contract.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { WarehouseEngine } from '../../shared/warehouse/port.js';
import { ACTORS, build, NOW, specArb } from '../corpus/fragments.js';

/**
 * The generated queries the guard accepts run on the real DuckDB engine as printed (the printer
 * writes valid DuckDB for the whole subset the generator covers), and what an analyst gets back
 * holds no personal data. Runs: GUARD_PROPERTY_RUNS (default 300; accepted ones are executed).
 */
const RUNS = Number(process.env.GUARD_PROPERTY_RUNS ?? 300);
const logger = new Logger({}, () => undefined, 'ERROR');
const dataDir = mkdtempSync(join(tmpdir(), 'tsi-guard-props-'));
let engine: WarehouseEngine;
const personal = new Set<string>();

beforeAll(async () => {
  await ensureLocalWarehouse({ dataDir, users: 60, seed: 3, logger, clock: new ManualClock(NOW) });
  engine = createDuckDbEngine({ file: localWarehousePaths(dataDir).file, logger });
  for (const table of TABLE_NAMES) {
    for (const c of CONTRACT[table].columns.filter((c) => c.pii)) {
      const r = await engine.run({ label: 'pii', sql: `SELECT DISTINCT ${c.name} AS v FROM ${table} WHERE ${c.name} IS NOT NULL`, params: {}, scans: [], maxRows: 100_000, maxBytesBilled: 1e12, timeoutMs: 10_000 });
      for (const row of r.rows) personal.add(String(row.v));
    }
  }
});
afterAll(async () => {
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it(`accepted generated queries run on DuckDB and return no personal data to an analyst (${RUNS} generated)`, async () => {
  expect(personal.size).toBeGreaterThan(50);
  const wh = createGuardedWarehouse({ engine, settings: { ...DEFAULT_GUARD_SETTINGS, cacheEntries: 0 }, clock: new ManualClock(NOW), logger, audit: null });
  let executed = 0;
  await fc.assert(
    fc.asyncProperty(specArb, async (spec) => {
      const m = build(spec);
      if (m.expected !== null) return;
      executed++;
      const r = await wh.query({ label: 'generated', sql: m.sql, params: {}, actor: ACTORS[spec.actor], origin: 'adhoc', maxRows: 20 });
      if (spec.actor === 'analyst') {
        const cells = r.rows.flatMap((row) => Object.values(row).flatMap((v) => (Array.isArray(v) ? v : [v])));
        expect(cells.filter((v) => v !== null && personal.has(String(v)))).toEqual([]);
      }
    }),
    { numRuns: RUNS },
  );
  expect(executed).toBeGreaterThan(RUNS / 20);
});
