import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalBigQueryServer } from '../../local/bigquery-rest-server.js';
import { OAuth2Client } from 'google-auth-library';
import { runInvestigation } from '../../shared/agent/run.js';
import type { AgentResult } from '../../shared/agent/model.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS, type GuardSettings } from '../../shared/guard/guarded.js';
import { createBigQueryEngine, type BigQueryEngineOptions } from '../../shared/warehouse/bigquery.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import { WarehouseBudgetError, WarehouseQueryError, WarehouseTimeoutError, WarehouseUnavailableError } from '../../shared/warehouse/errors.js';
import type { GroundTruth } from '../../shared/warehouse/generator.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { Warehouse, WarehouseQuery } from '../../shared/warehouse/port.js';

/**
 * The BigQuery adapter through the real @google-cloud/bigquery client, pointed (apiEndpoint) at a
 * local HTTP server that speaks the BigQuery v2 REST shapes the client uses: jobs.insert (dry run
 * and query jobs) and jobs.getQueryResults. The server records every request, and answers queries
 * by running them on a generated DuckDB warehouse, so the same investigation can run through both
 * adapters. It checks the requests the client sends and how answers are read; it does not check
 * that BigQuery itself accepts the SQL, bills as estimated, or answers exactly like this stand-in.
 */
const NOW = new Date('2026-03-01T12:00:00Z');
const JOB_PROJECT = 'tsi-jobs-project';
const DATA_PROJECT = 'analytics-data-prj';
const DATASET = 'dbt_marts';
const RENAMED = { fct_tts_usage: 'fct_tts_usage_v2' } as const;
const logger = new Logger({}, () => undefined, 'ERROR');

let dataDir: string;
let truth: GroundTruth;
let instance: DuckDBInstance;
let fake: LocalBigQueryServer;
let endpoint: string;
let duck: Warehouse;

function authClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'test-token', expiry_date: NOW.getTime() + 10 * 365 * 86_400_000 });
  return client;
}

const LEAD = { principal: 'lead@example.com', roles: ['lead'] };

function guarded(engine: ReturnType<typeof createBigQueryEngine>, settings: Partial<GuardSettings> = {}): Warehouse {
  return createGuardedWarehouse({
    engine,
    settings: { ...DEFAULT_GUARD_SETTINGS, budgetBytesByRole: { lead: 10_000_000, service: 10_000_000 }, cacheEntries: 0, timeoutMs: 120_000, ...settings },
    clock: new ManualClock(NOW),
    logger,
    audit: null,
  });
}

/** The production engine behind the guard, its real client pointed at the local REST server. */
function bigquery(over: Partial<BigQueryEngineOptions> = {}, settings: Partial<GuardSettings> = {}): Warehouse {
  return guarded(
    createBigQueryEngine({
      jobProject: JOB_PROJECT,
      dataProject: DATA_PROJECT,
      dataset: DATASET,
      location: 'EU',
      logger,
      tables: RENAMED,
      client: { apiEndpoint: endpoint, authClient: authClient(), autoRetry: false },
      ...over,
    }),
    settings,
  );
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tsi-bq-'));
  await ensureLocalWarehouse({ dataDir, users: 80, seed: 5, logger, clock: new ManualClock(NOW) });
  truth = JSON.parse(readFileSync(localWarehousePaths(dataDir).groundTruth, 'utf8'));
  const file = localWarehousePaths(dataDir).file;
  instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  fake = new LocalBigQueryServer(await instance.connect(), { dataProject: DATA_PROJECT, dataset: DATASET, renamed: RENAMED });
  endpoint = await fake.start();
  duck = guarded(createDuckDbEngine({ file, logger }), { budgetBytesByRole: { lead: 1e12, service: 1e12 } });
});

afterAll(async () => {
  await fake.stop();
  await duck.close();
  instance.closeSync();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.requests.length = 0;
  fake.dryRunBytes = 1_234_567;
  fake.pollsBeforeComplete = 0;
  fake.failInsert = null;
  fake.billingLimitExceeded = false;
  fake.processedBytes = 4096;
  fake.cancelled.length = 0;
});

const USAGE_QUERY = {
  label: 'usage_probe',
  sql: `SELECT user_id, COUNT(*) AS requests FROM fct_tts_usage
        WHERE event_ts >= @since AND event_ts < @until AND user_id IN (SELECT * FROM UNNEST(@ids))
        GROUP BY user_id ORDER BY user_id`,
  params: { since: new Date('2026-01-01T00:00:00Z'), until: NOW, ids: ['usr_demo_clean', 'usr_demo_spiky'], unused: 'x' },
  actor: LEAD,
};

describe('BigQuery adapter requests', () => {
  it('dry-runs, then inserts a query job with named parameters, byte cap, timeout, labels and mapped tables', async () => {
    const result = await bigquery().query(USAGE_QUERY);
    expect(result.rows).toEqual([
      { user_id: 'usr_demo_clean', requests: expect.any(Number) },
      { user_id: 'usr_demo_spiky', requests: expect.any(Number) },
    ]);
    expect(result).toMatchObject({ estimatedBytes: 1_234_567, bytesProcessed: 4096, truncated: false, jobId: expect.stringMatching(/^tsi_usage_probe_/) });

    const [dry, real] = fake.inserts();
    expect(fake.inserts()).toHaveLength(2);
    for (const r of [dry!, real!]) {
      expect(r.path).toBe(`/bigquery/v2/projects/${JOB_PROJECT}/jobs`);
      expect(r.headers.authorization).toBe('Bearer test-token');
      expect(r.body.jobReference).toMatchObject({ projectId: JOB_PROJECT, location: 'EU' });
      const q = r.body.configuration.query;
      expect(q.query).toContain(`FROM \`${DATA_PROJECT}.${DATASET}.fct_tts_usage_v2\``);
      expect(q.query).toContain('@since');
      expect(q).toMatchObject({ useLegacySql: false, parameterMode: 'NAMED' });
      expect(q.queryParameters).toEqual([
        { name: 'since', parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: '2026-01-01T00:00:00.000Z' } },
        { name: 'until', parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: '2026-03-01T12:00:00.000Z' } },
        { name: 'ids', parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } }, parameterValue: { arrayValues: [{ value: 'usr_demo_clean' }, { value: 'usr_demo_spiky' }] } },
      ]);
      expect(Object.keys(q).sort()).toEqual(['parameterMode', 'query', 'queryParameters', 'useLegacySql', ...(r === real ? ['maximumBytesBilled'] : [])].sort());
      expect(r.body.configuration.labels).toEqual({ tsi_query: 'usage_probe' });
    }
    expect(dry!.body.configuration.dryRun).toBe(true);
    expect(real!.body.configuration.dryRun).toBeUndefined();
    expect(real!.body.configuration.query.maximumBytesBilled).toBe('10000000');
    expect(real!.body.configuration.jobTimeoutMs).toBe('120000');
    expect(real!.body.jobReference.jobId).toMatch(/^tsi_usage_probe_/);

    const [get] = fake.results();
    expect(get!.path).toBe(`/bigquery/v2/projects/${JOB_PROJECT}/queries/${real!.body.jobReference.jobId}`);
    expect(get!.query.get('location')).toBe('EU');
    expect(get!.query.get('formatOptions.useInt64Timestamp')).toBe('true');
    expect(Number(get!.query.get('maxResults'))).toBeGreaterThan(0);
    // Only documented jobs.getQueryResults parameters (prettyPrint is a standard API parameter).
    expect([...get!.query.keys()].sort()).toEqual(['formatOptions.useInt64Timestamp', 'location', 'maxResults', 'prettyPrint']);
  });

  it('refuses a query whose dry-run estimate is over the role budget, without running it', async () => {
    fake.dryRunBytes = 50_000_000;
    await expect(bigquery().query(USAGE_QUERY)).rejects.toMatchObject({ type: 'warehouse-guard-refused', rule: 'over-budget', extras: { estimated_bytes: 50_000_000, budget_bytes: 10_000_000 } });
    expect(fake.inserts()).toHaveLength(1);
    expect(fake.inserts()[0]!.body.configuration.dryRun).toBe(true);
  });

  it('maps BigQuery refusing to bill more than the cap to the budget error', async () => {
    fake.billingLimitExceeded = true;
    await expect(bigquery().query(USAGE_QUERY)).rejects.toBeInstanceOf(WarehouseBudgetError);
  });

  it('turns API errors into safe warehouse errors', async () => {
    fake.failInsert = { status: 400, reason: 'invalidQuery' };
    const invalid = await bigquery().query(USAGE_QUERY).catch((e) => e);
    expect(invalid).toBeInstanceOf(WarehouseQueryError);
    expect(invalid.detail).toBe('Query "usage_probe" failed: BigQuery reported "invalidQuery".');
    fake.failInsert = { status: 503, reason: 'backendError' };
    await expect(bigquery().query(USAGE_QUERY)).rejects.toBeInstanceOf(WarehouseUnavailableError);
  });

  it('polls until the job completes and follows pages only as far as maxRows needs', async () => {
    const all = { label: 'users_page', sql: 'SELECT user_id FROM dim_users ORDER BY user_id', params: {}, actor: LEAD };
    fake.pollsBeforeComplete = 2;
    const paged = bigquery({ pageSize: 20 });
    const cut = await paged.query({ ...all, maxRows: 30 });
    expect(cut.rows).toHaveLength(30);
    expect(cut.truncated).toBe(true);
    const gets = fake.results();
    expect(gets.map((g) => [g.query.get('maxResults'), g.query.get('pageToken')])).toEqual([
      ['20', null],
      ['20', null],
      ['20', null],
      ['11', '20'],
    ]);

    fake.requests.length = 0;
    fake.pollsBeforeComplete = 0;
    const whole = await paged.query({ ...all, maxRows: 1000 });
    expect(whole.truncated).toBe(false);
    expect(whole.rows).toHaveLength(80);
    expect(fake.results()).toHaveLength(4);
    expect(whole.rows).toEqual((await duck.query({ ...all, maxRows: 1000 })).rows);
  });

  it('reads the finished job (jobs.get) for the bytes it processed, and records them in lineage', async () => {
    fake.processedBytes = 777;
    const result = await bigquery().query(USAGE_QUERY);
    const jobId = fake.inserts()[1]!.body.jobReference.jobId;
    expect(fake.requests.some((r) => r.method === 'GET' && r.path === `/bigquery/v2/projects/${JOB_PROJECT}/jobs/${jobId}`)).toBe(true);
    expect(result.lineage).toMatchObject({ engine: 'bigquery', bytes_processed: 777, estimated_bytes: 1_234_567, budget_bytes: 10_000_000, job_id: expect.stringMatching(/^tsi_usage_probe_/), cache_hit: false, tables: ['fct_tts_usage'] });
  });

  it('cancels a job that outlives the timeout (jobs.cancel) and reports the timeout', async () => {
    fake.pollsBeforeComplete = Infinity;
    const error = await bigquery({}, { timeoutMs: 300 }).query(USAGE_QUERY).catch((e) => e);
    expect(error).toBeInstanceOf(WarehouseTimeoutError);
    const jobId = fake.inserts()[1]!.body.jobReference.jobId;
    expect(fake.cancelled).toEqual([jobId]);
    expect(fake.inserts()[1]!.body.configuration.jobTimeoutMs).toBe('300');
  });

  it('sends the SQL the guard rewrote: contract names mapped, a row limit added, and refuses before any request', async () => {
    await bigquery().query({ ...USAGE_QUERY, maxRows: 5 });
    expect(fake.inserts()[1]!.body.configuration.query.query).toMatch(/LIMIT 6$/);
    fake.requests.length = 0;
    await expect(bigquery().query({ ...USAGE_QUERY, sql: 'SELECT user_id FROM fct_tts_usage' })).rejects.toMatchObject({ rule: 'partition-filter-required' });
    // A refused but readable query is still priced with a (free) dry run, and nothing else.
    expect(fake.inserts().map((r) => r.body.configuration.dryRun)).toEqual([true]);
    fake.requests.length = 0;
    await expect(bigquery().query({ ...USAGE_QUERY, sql: 'DELETE FROM fct_tts_usage WHERE TRUE' })).rejects.toMatchObject({ rule: 'read-only' });
    expect(fake.requests).toEqual([]);
  });

  it('checks reachability with a free dry run', async () => {
    await bigquery().ping();
    expect(fake.inserts()).toHaveLength(1);
    expect(fake.inserts()[0]!.body.configuration).toMatchObject({ dryRun: true, query: { query: 'SELECT 1' } });
  });
});

describe('the same rows and the same investigation through both adapters', () => {
  it('returns identical row shapes for timestamps, dates, integers, decimals, booleans and nulls', async () => {
    const queries: WarehouseQuery[] = [
      {
        label: 'users_typed',
        sql: `SELECT user_id, created_at, CAST(created_at AS DATE) AS created_day, identity_verified, country
              FROM dim_users WHERE user_id IN (SELECT * FROM UNNEST(@ids)) ORDER BY user_id`,
        params: { ids: truth.demo_subjects.flatMap((d) => d.user_ids) },
        actor: LEAD,
      },
      {
        label: 'payments_typed',
        sql: `SELECT user_id, COUNT(*) AS n, SUM(amount_usd) AS total, MAX(payment_ts) AS last_ts
              FROM fct_payments WHERE payment_ts >= @since GROUP BY user_id ORDER BY user_id`,
        params: { since: new Date('2025-06-01T00:00:00Z') },
        actor: LEAD,
      },
    ];
    for (const q of queries) {
      const viaBigQuery = await bigquery().query(q);
      const viaDuckDb = await duck.query(q);
      expect(viaBigQuery.rows.length).toBeGreaterThan(0);
      expect(viaBigQuery.rows).toEqual(viaDuckDb.rows);
    }
  });

  it('produces the same investigation results for every demo subject', async () => {
    const strip = (r: AgentResult) => ({ ...r, steps: r.steps.map(({ estimated_bytes: _e, bytes_processed: _b, duration_ms: _d, lineage: _l, ...s }) => s) });
    const bq = bigquery();
    for (const demo of truth.demo_subjects) {
      const input = { subject: demo.subject, windowDays: 30, now: NOW };
      const clock = () => ({ clock: new ManualClock(NOW) });
      const a = await runInvestigation(input, duck, {}, clock());
      const b = await runInvestigation(input, bq, {}, clock());
      expect({ key: demo.key, ...strip(b) }).toEqual({ key: demo.key, ...strip(a) });
      expect(b.steps.every((s) => s.bytes_processed === 4096 && s.estimated_bytes === 1_234_567 && s.lineage?.engine === 'bigquery' && /^tsi_/.test(s.lineage.job_id ?? ''))).toBe(true);
    }
  });
});
