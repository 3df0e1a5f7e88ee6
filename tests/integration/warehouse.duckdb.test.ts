import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ManualClock } from '../../shared/platform/clock.js';
import { loadConfig } from '../../shared/platform/config.js';
import { Logger } from '../../shared/platform/logger.js';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import { WarehouseUnavailableError } from '../../shared/warehouse/errors.js';
import { writeCsvFolder, type GeneratedTables } from '../../shared/warehouse/generator.js';
import { createWarehouse, ensureLocalWarehouse, loadLocalWarehouseFromFolder, localWarehousePaths } from '../../shared/warehouse/index.js';
import { ContractViolationError, loadFolderIntoDuckDb } from '../../shared/warehouse/load.js';
import type { Warehouse } from '../../shared/warehouse/port.js';

const logger = new Logger({}, () => undefined, 'ERROR');
const root = mkdtempSync(join(tmpdir(), 'tsi-duckdb-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ts = (iso: string) => new Date(iso);
const LEAD = { principal: 'lead@example.com', roles: ['lead'] };

/** The DuckDB engine behind the guard (no cache, so every query reaches the engine). */
function duckWarehouse(file: string, budget: number): Warehouse {
  return createGuardedWarehouse({
    engine: createDuckDbEngine({ file, logger }),
    settings: { ...DEFAULT_GUARD_SETTINGS, budgetBytesByRole: { lead: budget }, cacheEntries: 0 },
    clock: new ManualClock(ts('2026-03-01T00:00:00Z')),
    logger,
    audit: null,
  });
}

/** A handful of contract rows, enough to see every type come back. */
function tinyTables(): GeneratedTables {
  return {
    dim_users: [
      { user_id: 'u1', email: 'a@example.com', display_name: 'A, "the first"', created_at: ts('2026-01-01T10:00:00.123Z'), country: 'US', plan: 'pro', account_status: 'active', signup_ip: '10.0.0.1', identity_verified: true },
      { user_id: 'u2', email: 'b@example.com', display_name: null, created_at: ts('2026-01-02T00:00:00Z'), country: null, plan: 'free', account_status: 'banned', signup_ip: '2001:db8::1', identity_verified: false },
      { user_id: 'u3', email: 'c@example.com', display_name: 'C', created_at: ts('2026-01-03T00:00:00Z'), country: 'DE', plan: 'starter', account_status: 'active', signup_ip: '10.0.0.3', identity_verified: false },
    ],
    fct_tts_usage: [
      { event_ts: ts('2026-02-01T01:00:00Z'), request_id: 'r1', user_id: 'u1', voice_id: 'v1', model_id: 'm', characters: 100, source: 'api', api_key_id: 'k1', ip: '10.0.0.1', country: 'US', text_sha256: 'ab', moderation_score: 0.25, moderation_category: null },
      { event_ts: ts('2026-02-01T05:00:00Z'), request_id: 'r2', user_id: 'u1', voice_id: 'v1', model_id: 'm', characters: 300, source: 'web', api_key_id: null, ip: '10.0.0.1', country: 'US', text_sha256: 'cd', moderation_score: 0.5, moderation_category: 'spam' },
      { event_ts: ts('2026-02-02T05:00:00Z'), request_id: 'r3', user_id: 'u2', voice_id: 'v1', model_id: 'm', characters: 7, source: 'web', api_key_id: null, ip: '10.0.0.2', country: null, text_sha256: 'ef', moderation_score: 0, moderation_category: null },
    ],
    dim_voices: [
      { voice_id: 'v1', owner_user_id: 'u1', voice_type: 'cloned_instant', name: 'V', created_at: ts('2026-01-05T00:00:00Z'), sample_sha256: 'ff', verification_status: 'unverified', is_public: false, likeness_flag: null },
    ],
    fct_moderation_flags: [
      { flag_id: 'f1', flagged_at: ts('2026-02-01T05:01:00Z'), user_id: 'u1', request_id: 'r2', voice_id: 'v1', category: 'spam', severity: 'low', source: 'classifier', excerpt: 'buy now', action_taken: 'none' },
    ],
    fct_logins: [{ login_ts: ts('2026-02-01T00:30:00Z'), user_id: 'u1', ip: '10.0.0.1', device_fingerprint: 'dev_1', user_agent: 'ua', success: true }],
    fct_payments: [
      { payment_ts: ts('2026-02-01T00:00:00Z'), payment_id: 'p1', user_id: 'u1', card_fingerprint: 'fp_1', card_country: 'US', amount_usd: 99.95, status: 'succeeded' },
      { payment_ts: ts('2026-02-03T00:00:00Z'), payment_id: 'p2', user_id: 'u1', card_fingerprint: 'fp_1', card_country: 'US', amount_usd: 0.1, status: 'refunded' },
    ],
  };
}

function tinyWarehouseFile(name: string, mutate?: (t: GeneratedTables) => void): string {
  const folder = join(root, `${name}-csv`);
  const tables = tinyTables();
  mutate?.(tables);
  writeCsvFolder(folder, tables);
  return folder;
}

describe('DuckDB warehouse adapter', () => {
  let file: string;
  let wh: Warehouse;
  beforeAll(async () => {
    file = join(root, 'tiny.duckdb');
    await loadFolderIntoDuckDb({ folder: tinyWarehouseFile('tiny'), file, logger });
    wh = duckWarehouse(file, 1e12);
  });
  afterAll(() => wh.close());

  it('returns rows in the port\'s shape: numbers, ISO timestamps, dates, booleans, nulls', async () => {
    const r = await wh.query({
      actor: LEAD, label: 'types',
      sql: `SELECT u.user_id, u.created_at, u.identity_verified, u.country, CAST(u.created_at AS DATE) AS created_day,
                   COUNT(e.request_id) AS requests, SUM(e.characters) AS characters, AVG(e.moderation_score) AS avg_score
            FROM dim_users u LEFT JOIN fct_tts_usage e ON e.user_id = u.user_id AND e.event_ts >= @since AND e.event_ts < @until
            GROUP BY u.user_id, u.created_at, u.identity_verified, u.country
            ORDER BY u.user_id`,
      params: { since: ts('2026-01-01T00:00:00Z'), until: ts('2026-03-01T00:00:00Z') },
    });
    expect(r.rows[0]).toEqual({ user_id: 'u1', created_at: '2026-01-01T10:00:00.123Z', identity_verified: true, country: 'US', created_day: '2026-01-01', requests: 2, characters: 400, avg_score: 0.375 });
    expect(r.rows[1]).toMatchObject({ user_id: 'u2', country: null, requests: 1, characters: 7 });
    expect(r.rows[2]).toMatchObject({ user_id: 'u3', requests: 0, characters: null });
    const money = await wh.query({ actor: LEAD, label: 'money', sql: 'SELECT SUM(amount_usd) AS total, MAX(amount_usd) AS top FROM fct_payments WHERE payment_ts >= @since', params: { since: ts('2026-01-01T00:00:00Z') } });
    expect(money.rows).toEqual([{ total: 100.05, top: 99.95 }]);
  });

  it('binds string, list, timestamp, number, boolean and null parameters by name', async () => {
    const r = await wh.query({
      actor: LEAD, label: 'params',
      sql: `SELECT user_id FROM dim_users
            WHERE user_id IN (SELECT * FROM UNNEST(@ids)) AND created_at < @before AND identity_verified = @verified
              AND (@country IS NULL OR country = @country) AND @min_len <= 2`,
      params: { ids: ['u1', 'u2', 'zz'], before: ts('2026-01-05T00:00:00Z'), verified: false, country: null, min_len: 2, unused: 'ignored' },
    });
    expect(r.rows).toEqual([{ user_id: 'u2' }]);
    const empty = await wh.query({ actor: LEAD, label: 'empty_list', sql: 'SELECT user_id FROM dim_users WHERE user_id IN (SELECT * FROM UNNEST(@ids))', params: { ids: [] } });
    expect(empty.rows).toEqual([]);
  });

  it('stops at maxRows and says the result was truncated', async () => {
    const sql = 'SELECT user_id FROM dim_users ORDER BY user_id';
    expect(await wh.query({ actor: LEAD, label: 'cut', sql, params: {}, maxRows: 2 })).toMatchObject({ rows: [{ user_id: 'u1' }, { user_id: 'u2' }], truncated: true });
    expect(await wh.query({ actor: LEAD, label: 'whole', sql, params: {}, maxRows: 3 })).toMatchObject({ truncated: false, jobId: null, bytesProcessed: null });
  });

  it('estimates bytes from the referenced columns and refuses a query over budget before running it', async () => {
    const narrow = await wh.query({ actor: LEAD, label: 'narrow', sql: 'SELECT plan FROM dim_users', params: {} });
    const wide = await wh.query({ actor: LEAD, label: 'wide', sql: 'SELECT * FROM dim_users', params: {} });
    expect(narrow.estimatedBytes).toBeGreaterThan(0);
    expect(wide.estimatedBytes).toBeGreaterThan(narrow.estimatedBytes);
    const tight = duckWarehouse(file, narrow.estimatedBytes);
    try {
      await expect(tight.query({ actor: LEAD, label: 'wide', sql: 'SELECT * FROM dim_users', params: {} })).rejects.toMatchObject({ rule: 'over-budget', extras: { estimated_bytes: wide.estimatedBytes, budget_bytes: narrow.estimatedBytes } });
      await expect(tight.query({ actor: LEAD, label: 'narrow', sql: 'SELECT plan FROM dim_users', params: {} })).resolves.toMatchObject({ rows: expect.any(Array) });
    } finally {
      await tight.close();
    }
  });

  it('refuses templates outside the read-only subset without touching the data', async () => {
    await expect(wh.query({ actor: LEAD, label: 'write', sql: "UPDATE dim_users SET plan = 'pro'", params: {} })).rejects.toMatchObject({ rule: 'read-only' });
    await expect(wh.query({ actor: LEAD, label: 'missing', sql: 'SELECT user_id FROM dim_users WHERE user_id = @id', params: {} })).rejects.toThrow(/@id/);
    const plans = await wh.query({ actor: LEAD, label: 'plans', sql: 'SELECT plan FROM dim_users ORDER BY user_id', params: {} });
    expect(plans.rows.map((r) => r.plan)).toEqual(['pro', 'free', 'starter']);
  });

  it('reports a missing warehouse and missing tables as unavailable', async () => {
    const absent = duckWarehouse(join(root, 'nope.duckdb'), 1e12);
    await expect(absent.ping()).rejects.toBeInstanceOf(WarehouseUnavailableError);
    const partialFile = join(root, 'partial.duckdb');
    const inst = await DuckDBInstance.create(partialFile);
    const conn = await inst.connect();
    await conn.run('CREATE TABLE dim_users (user_id VARCHAR)');
    conn.closeSync();
    inst.closeSync();
    const partial = duckWarehouse(partialFile, 1e12);
    await expect(partial.ping()).rejects.toThrow(/lacks table/);
    await partial.close();
    await expect(wh.ping()).resolves.toBeUndefined();
  });
});

describe('loading a folder of contract data', () => {
  it('loads CSV with UTC offsets and Parquet alike', async () => {
    const folder = tinyWarehouseFile('offsets');
    const users = readFileSync(join(folder, 'dim_users.csv'), 'utf8').replace('2026-01-02T00:00:00.000Z', '2026-01-02T02:00:00+02:00');
    writeFileSync(join(folder, 'dim_users.csv'), users);
    const csvFile = join(root, 'offsets.duckdb');
    const loaded = await loadFolderIntoDuckDb({ folder, file: csvFile, logger });
    expect(loaded.rows).toMatchObject({ dim_users: 3, fct_tts_usage: 3, fct_payments: 2 });
    const wh = duckWarehouse(csvFile, 1e12);
    expect((await wh.query({ actor: LEAD, label: 'u2', sql: "SELECT created_at FROM dim_users WHERE user_id = 'u2'", params: {} })).rows).toEqual([{ created_at: '2026-01-02T00:00:00.000Z' }]);
    await wh.close();

    // The same data as Parquet, written by DuckDB from the CSV files.
    const parquet = join(root, 'parquet');
    mkdirSync(parquet);
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    for (const t of ['dim_users', 'fct_tts_usage', 'dim_voices', 'fct_moderation_flags', 'fct_logins', 'fct_payments']) {
      await conn.run(`COPY (SELECT * FROM read_csv('${join(folder, t + '.csv')}', header = true)) TO '${join(parquet, t + '.parquet')}' (FORMAT parquet)`);
    }
    conn.closeSync();
    inst.closeSync();
    const fromParquet = await loadFolderIntoDuckDb({ folder: parquet, file: join(root, 'parquet.duckdb'), logger });
    expect(fromParquet.rows).toEqual(loaded.rows);
  });

  it('lists every contract violation and keeps the current warehouse', async () => {
    const dataDir = join(root, 'violations');
    await loadLocalWarehouseFromFolder({ dataDir, folder: tinyWarehouseFile('good'), logger });
    const folder = tinyWarehouseFile('bad', (t) => {
      t.dim_users[0]!.plan = 'platinum';
      t.dim_users[1]!.email = 'B@Example.com';
      t.fct_tts_usage[1]!.request_id = 'r1';
      t.fct_logins[0]!.user_id = null;
    });
    writeFileSync(join(folder, 'fct_payments.csv'), readFileSync(join(folder, 'fct_payments.csv'), 'utf8').replace('2026-02-03T00:00:00.000Z', 'not-a-time'));
    const error = await loadLocalWarehouseFromFolder({ dataDir, folder, logger }).catch((e) => e);
    expect(error).toBeInstanceOf(ContractViolationError);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^dim_users\.plan: 1 value/),
        expect.stringMatching(/^dim_users\.email: 1 value\(s\) not lower-case/),
        expect.stringMatching(/^fct_tts_usage: 1 duplicated primary key/),
        expect.stringMatching(/^fct_logins\.user_id: 1 NULL/),
        expect.stringMatching(/^fct_payments\.payment_ts: 1 value\(s\) are not TIMESTAMP/),
      ]),
    );
    const wh = duckWarehouse(localWarehousePaths(dataDir).file, 1e12);
    expect((await wh.query({ actor: LEAD, label: 'count', sql: 'SELECT COUNT(*) AS n FROM dim_users', params: {} })).rows).toEqual([{ n: 3 }]);
    await wh.close();
  });

  it('names a missing file or column', async () => {
    const folder = tinyWarehouseFile('missing');
    rmSync(join(folder, 'fct_logins.csv'));
    await expect(loadFolderIntoDuckDb({ folder, file: join(root, 'missing.duckdb'), logger })).rejects.toThrow(/fct_logins: no fct_logins\.csv/);
    const folder2 = tinyWarehouseFile('missing-col');
    const csv = readFileSync(join(folder2, 'dim_voices.csv'), 'utf8').split('\n').map((l) => l.split(',').slice(0, -1).join(',')).join('\n');
    writeFileSync(join(folder2, 'dim_voices.csv'), csv);
    await expect(loadFolderIntoDuckDb({ folder: folder2, file: join(root, 'missing-col.duckdb'), logger })).rejects.toThrow(/dim_voices: missing column\(s\) likeness_flag/);
  });
});

describe('the local warehouse on first start', () => {
  it('is generated once, reused after, rebuilt when its settings change, and never replaces loaded data', async () => {
    const dataDir = join(root, 'local');
    const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'));
    expect(await ensureLocalWarehouse({ dataDir, users: 60, seed: 1, logger, clock })).toMatchObject({ generated: true });
    const paths = localWarehousePaths(dataDir);
    expect(existsSync(paths.file)).toBe(true);
    const truth = JSON.parse(readFileSync(paths.groundTruth, 'utf8'));
    expect(truth).toMatchObject({ seed: 1, users: 60, now: '2026-03-01T12:00:00.000Z' });

    expect(await ensureLocalWarehouse({ dataDir, users: 60, seed: 1, logger, clock })).toMatchObject({ generated: false });
    expect(await ensureLocalWarehouse({ dataDir, users: 60, seed: 2, logger, clock })).toMatchObject({ generated: true });
    clock.advance(30 * 86_400_000);
    expect(await ensureLocalWarehouse({ dataDir, users: 60, seed: 2, logger, clock })).toMatchObject({ generated: true });

    // Through the config-driven factory, as the runtime builds it.
    const wh = createWarehouse(loadConfig({ TSI_DATA_DIR: dataDir }), { logger, clock: new ManualClock(ts('2026-03-01T00:00:00Z')), audit: null });
    expect(wh.kind).toBe('duckdb');
    expect((await wh.query({ actor: LEAD, label: 'users', sql: 'SELECT COUNT(*) AS n FROM dim_users', params: {} })).rows).toEqual([{ n: 60 }]);
    await wh.close();

    await loadLocalWarehouseFromFolder({ dataDir, folder: tinyWarehouseFile('own'), logger });
    expect(existsSync(paths.groundTruth)).toBe(false);
    expect(await ensureLocalWarehouse({ dataDir, users: 60, seed: 3, logger, clock })).toMatchObject({ generated: false });
  });
});
