import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditInput, AuditLog } from '../../shared/audit/model.js';
import { GuardRefusalError } from '../../shared/guard/errors.js';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { CONTRACT, TABLE_NAMES } from '../../shared/warehouse/contract.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { EngineRun, WarehouseEngine } from '../../shared/warehouse/port.js';
import { CORPUS_NOW, HOSTILE_SQL } from '../corpus/hostile-sql.js';

/**
 * The hostile corpus through the guarded DuckDB engine: every refused entry is refused by its rule
 * before the engine runs anything, every accepted one runs and returns no personal data to an
 * analyst; and every entry's raw text, handed straight to the locked engine as if it had slipped
 * past the guard, cannot read host files or unlock the engine.
 */
const logger = new Logger({}, () => undefined, 'ERROR');
const dataDir = mkdtempSync(join(tmpdir(), 'tsi-guard-corpus-'));
const ACTORS = { analyst: { principal: 'analyst@example.com', roles: ['analyst'] }, lead: { principal: 'lead@example.com', roles: ['lead'] } };
let engine: WarehouseEngine;
const runs: EngineRun[] = [];
let personalValues: Set<string>;

class MemoryAudit {
  readonly records: AuditInput[] = [];
  readonly kind = 'local' as const;
  async write(r: AuditInput) {
    this.records.push(r);
  }
  async query() {
    return { items: [], next_page_token: null };
  }
  async ping() {}
}

const raw = (sql: string) => engine.run({ label: 'raw', sql, params: {}, scans: [], maxRows: 1000, maxBytesBilled: 1e12, timeoutMs: 5000 });

beforeAll(async () => {
  await ensureLocalWarehouse({ dataDir, users: 60, seed: 5, logger, clock: new ManualClock(CORPUS_NOW) });
  engine = createDuckDbEngine({ file: localWarehousePaths(dataDir).file, logger });
  personalValues = new Set();
  for (const table of TABLE_NAMES) {
    for (const c of CONTRACT[table].columns.filter((c) => c.pii)) {
      const r = await raw(`SELECT DISTINCT ${c.name} AS v FROM ${table} WHERE ${c.name} IS NOT NULL`);
      for (const row of r.rows) personalValues.add(String(row.v));
    }
  }
});
afterAll(async () => {
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function guarded() {
  const counting: WarehouseEngine = { ...engine, kind: engine.kind, tableName: (t) => engine.tableName(t), estimate: (q) => engine.estimate(q), dataVersion: () => engine.dataVersion(), run: async (q) => {
    runs.push(q);
    return engine.run(q);
  } };
  return createGuardedWarehouse({ engine: counting, settings: { ...DEFAULT_GUARD_SETTINGS, cacheEntries: 0 }, clock: new ManualClock(CORPUS_NOW), logger, audit: new MemoryAudit() as unknown as AuditLog });
}

const leaks = (rows: unknown[]): string[] => {
  const found: string[] = [];
  const visit = (v: unknown) => {
    if (v === null || v === undefined) return;
    if (typeof v === 'object') Object.values(v as object).forEach(visit);
    else if (personalValues.has(String(v))) found.push(String(v));
  };
  rows.forEach(visit);
  return found;
};

describe('the hostile-SQL corpus through the guarded DuckDB engine', () => {
  it('warehouse holds personal data to leak (the leak check can fail)', () => {
    expect(personalValues.size).toBeGreaterThan(100);
  });

  it.each(HOSTILE_SQL.map((q) => [`${q.category}: ${q.name}`, q] as const))('%s', async (_label, q) => {
    const wh = guarded();
    const before = runs.length;
    const outcome = await wh.query({ label: 'corpus', sql: q.sql, params: q.params ?? {}, actor: ACTORS[q.actor ?? 'analyst'], origin: 'adhoc', maxRows: 50 }).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    if (q.rule !== null) {
      expect(outcome.ok).toBe(false);
      const e = (outcome as { e: unknown }).e;
      expect(e).toBeInstanceOf(GuardRefusalError);
      expect((e as GuardRefusalError).rule).toBe(q.rule);
      expect(runs.length).toBe(before);
      return;
    }
    if (!outcome.ok) throw outcome.e;
    expect(runs.length).toBe(before + 1);
    if (q.reads) expect(outcome.r.lineage.columns).toEqual(q.reads);
    if ((q.actor ?? 'analyst') === 'analyst') expect(leaks(outcome.r.rows)).toEqual([]);
  });

  it('raw text of every entry, run on the locked engine as if it got past the guard, reads no host file and cannot unlock it', async () => {
    const hostFile: string[] = [];
    for (const q of HOSTILE_SQL) {
      const r = await raw(q.sql).catch(() => null);
      if (r && JSON.stringify(r.rows).includes('root:')) hostFile.push(q.name);
    }
    expect(hostFile).toEqual([]);
    const settings = await raw("SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration') ORDER BY name");
    expect(settings.rows).toEqual([
      { name: 'enable_external_access', value: 'false' },
      { name: 'lock_configuration', value: 'true' },
    ]);
  });
});
