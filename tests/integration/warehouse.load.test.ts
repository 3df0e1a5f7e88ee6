import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Logger } from '../../shared/platform/logger.js';
import { TABLE_NAMES } from '../../shared/warehouse/contract.js';
import { writeCsvFolder, type GeneratedTables } from '../../shared/warehouse/generator.js';
import { loadLocalWarehouseFromFolder, localWarehousePaths } from '../../shared/warehouse/local.js';
import { ContractViolationError, loadFolderIntoDuckDb, type ContractProblem } from '../../shared/warehouse/load.js';

/**
 * The folder loader against small hand-written folders that each break one rule of the contract:
 * each must be refused with the table, column and rows at fault, and leave the warehouse as it was.
 */
const logger = new Logger({}, () => undefined, 'ERROR');
const root = mkdtempSync(join(tmpdir(), 'tsi-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ts = (iso: string) => new Date(iso);

function tables(): GeneratedTables {
  const user = (id: string, over: Record<string, unknown> = {}) => ({
    user_id: id, email: `${id}@example.com`, display_name: null, created_at: ts('2026-01-01T00:00:00Z'), country: 'US', plan: 'free', account_status: 'active', signup_ip: '10.0.0.1', identity_verified: false, ...over,
  });
  const usage = (id: string, user: string, over: Record<string, unknown> = {}) => ({
    event_ts: ts('2026-02-01T00:00:00Z'), request_id: id, user_id: user, voice_id: 'v1', model_id: 'm', characters: 10, source: 'web', api_key_id: null, ip: '10.0.0.1', country: 'US', text_sha256: 'ab', moderation_score: 0.1, moderation_category: null, ...over,
  });
  return {
    dim_users: [user('u1'), user('u2'), user('u3'), user('u4')],
    fct_tts_usage: [usage('r1', 'u1'), usage('r2', 'u1'), usage('r3', 'u2'), usage('r4', 'u3'), usage('r5', 'u4')],
    dim_voices: [
      { voice_id: 'v1', owner_user_id: null, voice_type: 'premade', name: 'Lib', created_at: ts('2025-01-01T00:00:00Z'), sample_sha256: null, verification_status: 'verified', is_public: true, likeness_flag: null },
      { voice_id: 'v2', owner_user_id: 'u2', voice_type: 'cloned_instant', name: 'Mine', created_at: ts('2026-01-05T00:00:00Z'), sample_sha256: 'ff', verification_status: 'unverified', is_public: false, likeness_flag: null },
    ],
    fct_moderation_flags: [
      { flag_id: 'f1', flagged_at: ts('2026-02-01T00:01:00Z'), user_id: 'u1', request_id: 'r1', voice_id: 'v1', category: 'spam', severity: 'low', source: 'classifier', excerpt: 'x', action_taken: 'none' },
    ],
    fct_logins: [
      { login_ts: ts('2026-02-01T00:00:00Z'), user_id: 'u1', ip: '10.0.0.1', device_fingerprint: 'd1', user_agent: 'ua', success: true },
      { login_ts: ts('2026-02-02T00:00:00Z'), user_id: 'u2', ip: '10.0.0.2', device_fingerprint: 'd2', user_agent: 'ua', success: false },
    ],
    fct_payments: [{ payment_ts: ts('2026-02-01T00:00:00Z'), payment_id: 'p1', user_id: 'u1', card_fingerprint: 'c1', card_country: 'US', amount_usd: 5, status: 'succeeded' }],
  };
}

let counter = 0;
function folder(mutate?: (t: GeneratedTables) => void): string {
  const dir = join(root, `case-${++counter}`);
  const t = tables();
  mutate?.(t);
  writeCsvFolder(dir, t);
  return dir;
}

/** Replaces the text of one data row (1 = the first row after the header) of a CSV file. */
function editRow(dir: string, table: string, row: number, edit: (line: string) => string): void {
  const path = join(dir, `${table}.csv`);
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[row] = edit(lines[row]!);
  writeFileSync(path, lines.join('\n'));
}

async function problemsOf(dir: string): Promise<ContractProblem[]> {
  const error = await loadFolderIntoDuckDb({ folder: dir, file: join(root, `out-${++counter}.duckdb`), logger }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ContractViolationError);
  return (error as ContractViolationError).details;
}

const summary = (p: ContractProblem) => ({ table: p.table, column: p.column, rule: p.rule, count: p.count, rows: p.rows });

describe('loading a folder of contract data', () => {
  it('loads a valid folder and counts every table', async () => {
    const result = await loadFolderIntoDuckDb({ folder: folder(), file: join(root, 'valid.duckdb'), logger });
    expect(result.rows).toEqual({ dim_users: 4, fct_tts_usage: 5, dim_voices: 2, fct_moderation_flags: 1, fct_logins: 2, fct_payments: 1 });
  });

  it('names a missing table file and a missing column', async () => {
    const dir = folder();
    rmSync(join(dir, 'fct_payments.csv'));
    editRow(dir, 'dim_voices', 0, (l) => l.replace(',likeness_flag', ''));
    for (const r of [1, 2]) editRow(dir, 'dim_voices', r, (l) => l.replace(/,$/, ''));
    expect((await problemsOf(dir)).map(summary)).toEqual([
      { table: 'dim_voices', column: 'likeness_flag', rule: 'missing_column', count: 0, rows: [] },
      { table: 'fct_payments', column: null, rule: 'missing_table', count: 0, rows: [] },
    ]);
  });

  it('names the rows whose value does not parse as the column type', async () => {
    const dir = folder();
    editRow(dir, 'fct_tts_usage', 2, (l) => l.replace(',10,', ',ten,'));
    editRow(dir, 'fct_tts_usage', 4, (l) => l.replace(',10,', ',1.5e,'));
    editRow(dir, 'fct_logins', 2, (l) => l.replace(/,false$/, ',maybe'));
    editRow(dir, 'dim_users', 3, (l) => l.replace('2026-01-01T00:00:00.000Z', 'yesterday'));
    const problems = await problemsOf(dir);
    expect(problems.map(summary)).toEqual([
      { table: 'dim_users', column: 'created_at', rule: 'type', count: 1, rows: [3] },
      { table: 'fct_tts_usage', column: 'characters', rule: 'type', count: 2, rows: [2, 4] },
      { table: 'fct_logins', column: 'success', rule: 'type', count: 1, rows: [2] },
    ]);
    expect(problems[1]!.examples).toEqual(['ten', '1.5e']);
    expect(problems[0]!.message).toBe('dim_users.created_at: 1 value(s) are not TIMESTAMP');
  });

  it('names rows with an unknown enum value, a NULL in a required column, or an upper-case email', async () => {
    const problems = await problemsOf(
      folder((t) => {
        t.dim_users[1]!.plan = 'platinum';
        t.dim_users[2]!.email = 'U3@Example.com';
        t.fct_payments[0]!.status = 'pending';
        t.dim_voices[1]!.name = null;
      }),
    );
    expect(problems.map(summary)).toEqual([
      { table: 'dim_users', column: 'email', rule: 'lower_case', count: 1, rows: [3] },
      { table: 'dim_users', column: 'plan', rule: 'enum', count: 1, rows: [2] },
      { table: 'dim_voices', column: 'name', rule: 'required', count: 1, rows: [2] },
      { table: 'fct_payments', column: 'status', rule: 'enum', count: 1, rows: [1] },
    ]);
    expect(problems.find((p) => p.rule === 'enum' && p.table === 'dim_users')!.examples).toEqual(['platinum']);
    // Personal data stays out of the report.
    expect(problems.find((p) => p.rule === 'lower_case')!.examples).toBeUndefined();
  });

  it('names every row of a duplicated primary key', async () => {
    const problems = await problemsOf(folder((t) => void (t.fct_tts_usage[3]!.request_id = 'r1')));
    expect(problems.map(summary)).toEqual([{ table: 'fct_tts_usage', column: 'request_id', rule: 'primary_key', count: 2, rows: [1, 4] }]);
    expect(problems[0]!.message).toBe('fct_tts_usage: 1 duplicated primary key value(s) (request_id) on 2 rows');
  });

  it('names rows that reference an account, voice or request that does not exist', async () => {
    const problems = await problemsOf(
      folder((t) => {
        t.fct_tts_usage[1]!.user_id = 'u9';
        t.fct_tts_usage[2]!.voice_id = 'v9';
        t.dim_voices[1]!.owner_user_id = 'u8';
        t.fct_moderation_flags[0]!.request_id = 'r9';
        t.fct_moderation_flags[0]!.voice_id = 'v7';
        t.fct_logins[1]!.user_id = 'u7';
        t.fct_payments[0]!.user_id = 'u6';
      }),
    );
    expect(problems.map((p) => `${p.table}.${p.column} rows ${p.rows.join(',')}`)).toEqual([
      'fct_tts_usage.user_id rows 2',
      'fct_tts_usage.voice_id rows 3',
      'dim_voices.owner_user_id rows 2',
      'fct_moderation_flags.request_id rows 1',
      'fct_moderation_flags.voice_id rows 1',
      'fct_logins.user_id rows 2',
      'fct_payments.user_id rows 1',
    ]);
    expect(problems.every((p) => p.rule === 'reference')).toBe(true);
    expect(problems[0]!.message).toBe('fct_tts_usage.user_id: 1 value(s) not found in dim_users.user_id');
    // Nullable references may be empty: a premade voice has no owner, a flag may have no request.
    await expect(loadFolderIntoDuckDb({ folder: folder((t) => void (t.fct_moderation_flags[0]!.request_id = null)), file: join(root, 'null-ref.duckdb'), logger })).resolves.toBeDefined();
  });

  it('lists the first rows and the total when many rows break a rule', async () => {
    const problems = await problemsOf(
      folder((t) => {
        t.fct_tts_usage = Array.from({ length: 25 }, (_, i) => ({ ...t.fct_tts_usage[0]!, request_id: `r${i}`, source: 'mobile' }));
      }),
    );
    expect(problems.map(summary)).toEqual([{ table: 'fct_tts_usage', column: 'source', rule: 'enum', count: 25, rows: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }]);
  });

  it('reads .csv.gz and Parquet, and names Parquet rows the same way', async () => {
    const dir = folder((t) => void (t.fct_tts_usage[4]!.user_id = 'u9'));
    const mixed = join(root, 'mixed');
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    try {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(mixed);
      for (const t of TABLE_NAMES) {
        const src = `read_csv('${join(dir, t + '.csv')}', header = true, all_varchar = true)`;
        if (t === 'fct_tts_usage') await conn.run(`COPY (SELECT * REPLACE (CAST(event_ts AS TIMESTAMPTZ) AS event_ts, CAST(characters AS BIGINT) AS characters) FROM ${src}) TO '${join(mixed, t + '.parquet')}' (FORMAT parquet)`);
        else if (t === 'dim_users') await conn.run(`COPY (SELECT * FROM ${src}) TO '${join(mixed, t + '.csv.gz')}' (FORMAT csv, HEADER, COMPRESSION gzip)`);
        else await conn.run(`COPY (SELECT * FROM ${src}) TO '${join(mixed, t + '.csv')}' (FORMAT csv, HEADER)`);
      }
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
    expect((await problemsOf(mixed)).map(summary)).toEqual([{ table: 'fct_tts_usage', column: 'user_id', rule: 'reference', count: 1, rows: [5] }]);
    const good = join(mixed, 'fct_tts_usage.parquet');
    rmSync(good);
    writeCsvFolder(join(root, 'fixed'), tables());
    const { copyFileSync } = await import('node:fs');
    copyFileSync(join(root, 'fixed', 'fct_tts_usage.csv'), join(mixed, 'fct_tts_usage.csv'));
    const loaded = await loadFolderIntoDuckDb({ folder: mixed, file: join(root, 'mixed.duckdb'), logger });
    expect(loaded.rows).toMatchObject({ dim_users: 4, fct_tts_usage: 5 });
  });

  it('loads nothing when any table breaks a rule: the current warehouse stays', async () => {
    const dataDir = join(root, 'data');
    await loadLocalWarehouseFromFolder({ dataDir, folder: folder(), logger });
    const bad = folder((t) => {
      t.dim_users.push({ ...t.dim_users[0]!, user_id: 'u5', email: 'u5@example.com' });
      t.fct_payments[0]!.user_id = 'nobody';
    });
    await expect(loadLocalWarehouseFromFolder({ dataDir, folder: bad, logger })).rejects.toBeInstanceOf(ContractViolationError);
    const inst = await DuckDBInstance.create(localWarehousePaths(dataDir).file, { access_mode: 'READ_ONLY' });
    const conn = await inst.connect();
    try {
      expect((await conn.runAndReadAll('SELECT COUNT(*) FROM dim_users')).getRowsJS()).toEqual([[4n]]);
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
  });
});
