import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditInput, AuditLog } from '../../shared/audit/model.js';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { WarehouseEngine } from '../../shared/warehouse/port.js';

/**
 * The embedded engine as an attacker meets it: the guard in front of the real DuckDB, and the
 * engine itself locked down for whatever might get past the guard one day.
 */
const NOW = new Date('2026-03-01T12:00:00Z');
const logger = new Logger({}, () => undefined, 'ERROR');
const dataDir = mkdtempSync(join(tmpdir(), 'tsi-guard-engine-'));
const ANALYST = { principal: 'analyst@example.com', roles: ['analyst'] };
let engine: WarehouseEngine;

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

beforeAll(async () => {
  await ensureLocalWarehouse({ dataDir, users: 60, seed: 11, logger, clock: new ManualClock(NOW) });
  engine = createDuckDbEngine({ file: localWarehousePaths(dataDir).file, logger });
});
afterAll(async () => {
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function guard() {
  const audit = new MemoryAudit();
  const wh = createGuardedWarehouse({ engine, settings: DEFAULT_GUARD_SETTINGS, clock: new ManualClock(NOW), logger, audit: audit as unknown as AuditLog });
  return { wh, audit };
}

const run = (sql: string) => engine.run({ label: 'raw', sql, params: {}, scans: [], maxRows: 10, maxBytesBilled: 1e12, timeoutMs: 10_000 });

describe('the comment bypass (DuckDB nests /* */, BigQuery does not)', () => {
  const BYPASS = "SELECT user_id /* /* */ FROM dim_users WHERE user_id = '*/, email, signup_ip FROM dim_users --'";

  it('runs what the guard read: one user_id column, no e-mail or signup IP', async () => {
    const { wh, audit } = guard();
    const result = await wh.query({ label: 'bypass', sql: BYPASS, params: {}, actor: ANALYST, origin: 'adhoc' });
    // The guard parsed a filter on a user_id literal that matches no account.
    expect(result.rows).toEqual([]);
    expect(result.lineage.columns).toEqual({ dim_users: ['user_id'] });
    const leaked = JSON.stringify(result.rows);
    expect(leaked).not.toMatch(/@|signup/);
    expect(audit.records.at(-1)).toMatchObject({ outcome: 'allowed' });
  });

  it('the same trick reaching for host files is refused or harmless', async () => {
    const { wh } = guard();
    // DuckDB's $$-quoting needs no quote that the translation would double.
    const sql = "SELECT 1 AS one /* /* */ FROM dim_users WHERE user_id = '*/, content FROM read_text($$/etc/passwd$$) --'";
    const outcome = await wh.query({ label: 'bypass', sql, params: {}, actor: ANALYST, origin: 'adhoc' }).then((r) => r.rows, (e: Error) => e.message);
    expect(JSON.stringify(outcome)).not.toContain('root:');
  });
});

describe('values unnested from an array (audit)', () => {
  const LEAD = { principal: 'lead@example.com', roles: ['lead'] };
  it('records email as a personal-data column returned when a lead unnests it, and runs as BigQuery would name it', async () => {
    const { wh, audit } = guard();
    const r = await wh.query({ label: 'unnest', sql: 'SELECT e FROM dim_users, UNNEST([email]) AS e ORDER BY e LIMIT 3', params: {}, actor: LEAD, origin: 'adhoc' });
    expect(r.rows).toHaveLength(3);
    expect(Object.keys(r.rows[0]!)).toEqual(['e']);
    expect(String(r.rows[0]!.e)).toContain('@');
    expect(audit.records.at(-1)).toMatchObject({ outcome: 'allowed', details: { pii_columns: ['dim_users.email'] } });
  });

  it('refuses it for an analyst, also in reviewed SQL, and audits the refusal', async () => {
    const { wh, audit } = guard();
    await expect(wh.query({ label: 'unnest', sql: 'SELECT e FROM dim_users, UNNEST([email]) AS e', params: {}, actor: ANALYST, origin: 'planned' })).rejects.toMatchObject({ rule: 'pii-not-permitted' });
    expect(audit.records.at(-1)).toMatchObject({ outcome: 'denied', reason: 'pii-not-permitted' });
  });
});

describe('the DuckDB engine is locked', () => {
  const HOSTILE: [string, string][] = [
    ['read_text of a host file', "SELECT content FROM read_text('/etc/passwd')"],
    ['read_csv of a host file', "SELECT * FROM read_csv('/etc/passwd')"],
    ['read_csv_auto', "SELECT * FROM read_csv_auto('/etc/hostname')"],
    ['glob of the file system', "SELECT * FROM glob('/etc/*')"],
    ['COPY to a file', "COPY (SELECT 1 AS x) TO '/tmp/tsi-guard-copy.csv'"],
    ['COPY from a file', "COPY dim_users FROM '/etc/passwd'"],
    ['ATTACH another database', "ATTACH '/tmp/tsi-guard-attach.duckdb' AS other"],
    ['INSTALL an extension', 'INSTALL httpfs'],
    ['LOAD an extension', 'LOAD httpfs'],
    ['SET a setting', "SET enable_external_access = true"],
    ['RESET a setting', 'RESET enable_external_access'],
    ['PRAGMA that changes a setting', 'PRAGMA threads=1'],
    ['SET lock_configuration off', 'SET lock_configuration = false'],
    ['http read', "SELECT * FROM read_csv('https://example.com/x.csv')"],
    ['write via CREATE TABLE', 'CREATE TABLE leak AS SELECT 1 AS x'],
  ];
  it.each(HOSTILE)('%s fails on the engine itself', async (_name, sql) => {
    await expect(run(sql)).rejects.toMatchObject({ type: 'warehouse-query-failed' });
  });

  it('still answers ordinary reads, its own statistics and the health check', async () => {
    await expect(run('SELECT COUNT(*) AS n FROM dim_users')).resolves.toMatchObject({ rows: [{ n: 60 }] });
    await expect(engine.ping()).resolves.toBeUndefined();
    const estimate = await engine.estimate({ label: 'e', sql: 'SELECT 1', params: {}, scans: [{ table: 'fct_tts_usage', columns: ['user_id'], from: new Date(NOW.getTime() - 7 * 86_400_000), to: NOW }] });
    expect(estimate).toBeGreaterThan(0);
  });

  it('reports the settings it runs with', async () => {
    const r = await run("SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions') ORDER BY name");
    expect(r.rows).toEqual([
      { name: 'autoinstall_known_extensions', value: 'false' },
      { name: 'autoload_known_extensions', value: 'false' },
      { name: 'enable_external_access', value: 'false' },
      { name: 'lock_configuration', value: 'true' },
    ]);
  });
});
