import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { BIGINT, BOOLEAN, DOUBLE, DuckDBInstance, DuckDBTypeId, LIST, TIMESTAMP, VARCHAR, listValue, timestampValue, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { OAuth2Client } from 'google-auth-library';
import { runInvestigation } from '../../shared/agent/run.js';
import type { AgentResult } from '../../shared/agent/model.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { createBigQueryWarehouse, type BigQueryWarehouseOptions } from '../../shared/warehouse/bigquery.js';
import { createDuckDbWarehouse } from '../../shared/warehouse/duckdb.js';
import { WarehouseBudgetError, WarehouseQueryError, WarehouseUnavailableError } from '../../shared/warehouse/errors.js';
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

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: any;
}

interface Field {
  name: string;
  type: string;
  mode: string;
}

class FakeBigQuery {
  readonly requests: Recorded[] = [];
  dryRunBytes = 1_234_567;
  pollsBeforeComplete = 0;
  failInsert: { status: number; reason: string } | null = null;
  billingLimitExceeded = false;
  private readonly jobs = new Map<string, { fields: Field[]; rows: unknown[]; polls: number }>();
  private server: Server | null = null;

  constructor(private readonly conn: DuckDBConnection) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const rec: Recorded = { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body: raw ? JSON.parse(raw) : null };
        this.requests.push(rec);
        this.handle(rec)
          .then(([status, body]) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
          })
          .catch((error) => {
            res.writeHead(400, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: { code: 400, message: String(error), errors: [{ reason: 'invalidQuery', message: String(error) }] } }));
          });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }

  inserts(): Recorded[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/jobs'));
  }

  results(): Recorded[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path.includes('/queries/'));
  }

  private async handle(r: Recorded): Promise<[number, unknown]> {
    const insert = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(r.path);
    if (insert && r.method === 'POST') {
      const job = r.body;
      const ref = { projectId: insert[1], jobId: job.jobReference.jobId, location: job.jobReference.location };
      if (this.failInsert) {
        const { status, reason } = this.failInsert;
        return [status, { error: { code: status, message: `${reason}: details that may echo the query`, errors: [{ reason, message: 'details' }] } }];
      }
      if (job.configuration.dryRun) {
        return [200, { kind: 'bigquery#job', jobReference: { projectId: ref.projectId, location: ref.location }, configuration: job.configuration, status: { state: 'DONE' }, statistics: { totalBytesProcessed: String(this.dryRunBytes), query: { totalBytesProcessed: String(this.dryRunBytes) } } }];
      }
      if (this.billingLimitExceeded) {
        const err = { reason: 'bytesBilledLimitExceeded', message: 'Query exceeded limit for bytes billed' };
        return [200, { kind: 'bigquery#job', jobReference: ref, configuration: job.configuration, status: { state: 'DONE', errorResult: err, errors: [err] } }];
      }
      this.jobs.set(ref.jobId, { ...(await this.execute(job.configuration.query, r)), polls: this.pollsBeforeComplete });
      return [200, { kind: 'bigquery#job', id: `${ref.projectId}:${ref.location}.${ref.jobId}`, jobReference: ref, configuration: job.configuration, status: { state: 'RUNNING' } }];
    }
    const results = /^\/bigquery\/v2\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(r.path);
    if (results && r.method === 'GET') {
      const job = this.jobs.get(results[2]!);
      if (!job) return [404, { error: { code: 404, message: 'Not found: job', errors: [{ reason: 'notFound' }] } }];
      const jobReference = { projectId: results[1], jobId: results[2], location: r.query.get('location') };
      if (job.polls > 0) {
        job.polls--;
        return [200, { kind: 'bigquery#getQueryResultsResponse', jobReference, jobComplete: false }];
      }
      const start = Number(r.query.get('pageToken') ?? 0);
      const max = Number(r.query.get('maxResults') ?? 100_000);
      const rows = job.rows.slice(start, start + max);
      const next = start + rows.length < job.rows.length ? String(start + rows.length) : undefined;
      return [200, { kind: 'bigquery#getQueryResultsResponse', jobReference, schema: { fields: job.fields }, rows, totalRows: String(job.rows.length), ...(next ? { pageToken: next } : {}), jobComplete: true, totalBytesProcessed: '4096', cacheHit: false }];
    }
    if (r.method === 'POST' && r.path.endsWith('/cancel')) return [200, { kind: 'bigquery#jobCancelResponse', job: {} }];
    return [404, { error: { code: 404, message: 'no such route', errors: [{ reason: 'notFound' }] } }];
  }

  /** Runs the BigQuery-spelled query on DuckDB and encodes the answer as the REST API does. */
  private async execute(config: any, r: Recorded): Promise<{ fields: Field[]; rows: unknown[] }> {
    const local = Object.fromEntries(Object.entries(RENAMED).map(([k, v]) => [v, k]));
    const sql = (config.query as string)
      .replace(/`([^`]+)`/g, (_m, name: string) => {
        const [project, dataset, table] = name.split('.');
        if (project !== DATA_PROJECT || dataset !== DATASET) throw new Error(`unexpected table ${name}`);
        return local[table!] ?? table!;
      })
      .replace(/@([A-Za-z_]\w*)/g, '$$$1');
    const values: Record<string, DuckDBValue> = {};
    const types: Record<string, DuckDBType> = {};
    for (const p of config.queryParameters ?? []) {
      const type = p.parameterType.type as string;
      const v = p.parameterValue?.value;
      if (type === 'ARRAY') {
        values[p.name] = listValue((p.parameterValue.arrayValues ?? []).map((a: { value: string }) => a.value));
        types[p.name] = LIST(VARCHAR);
      } else if (v === undefined) {
        values[p.name] = null;
        types[p.name] = VARCHAR;
      } else if (type === 'TIMESTAMP') {
        values[p.name] = timestampValue(BigInt(Date.parse(v)) * 1000n);
        types[p.name] = TIMESTAMP;
      } else if (type === 'INT64') {
        values[p.name] = BigInt(v);
        types[p.name] = BIGINT;
      } else if (type === 'FLOAT64') {
        values[p.name] = Number(v);
        types[p.name] = DOUBLE;
      } else if (type === 'BOOL') {
        values[p.name] = v === 'true';
        types[p.name] = BOOLEAN;
      } else {
        values[p.name] = v;
        types[p.name] = VARCHAR;
      }
    }
    const reader = await this.conn.runAndReadAll(sql, values, types);
    const int64Timestamps = r.query.get('formatOptions.useInt64Timestamp') !== 'false';
    const columns = reader.columnNames().map((name, i) => ({ name, type: reader.columnType(i) }));
    const bqType = (t: DuckDBType): string => {
      switch (t.typeId) {
        case DuckDBTypeId.VARCHAR: return 'STRING';
        case DuckDBTypeId.BIGINT: case DuckDBTypeId.HUGEINT: case DuckDBTypeId.INTEGER: return 'INTEGER';
        case DuckDBTypeId.DOUBLE: case DuckDBTypeId.FLOAT: return 'FLOAT';
        case DuckDBTypeId.DECIMAL: return 'NUMERIC';
        case DuckDBTypeId.BOOLEAN: return 'BOOLEAN';
        case DuckDBTypeId.TIMESTAMP: return 'TIMESTAMP';
        case DuckDBTypeId.DATE: return 'DATE';
        default: throw new Error(`no BigQuery type for ${t.toString()}`);
      }
    };
    const encode = (type: string, v: unknown): unknown => {
      if (v === null || v === undefined) return null;
      if (type === 'TIMESTAMP') return int64Timestamps ? String(BigInt((v as Date).getTime()) * 1000n) : String((v as Date).getTime() / 1000);
      if (type === 'DATE') return (v as Date).toISOString().slice(0, 10);
      if (type === 'BOOLEAN') return v ? 'true' : 'false';
      return String(v);
    };
    const fields: Field[] = columns.map((c) => {
      if (c.type.typeId === DuckDBTypeId.LIST) return { name: c.name, type: bqType((c.type as unknown as { valueType: DuckDBType }).valueType), mode: 'REPEATED' };
      return { name: c.name, type: bqType(c.type), mode: 'NULLABLE' };
    });
    const rows = reader.getRowsJS().map((row) => ({
      f: row.map((v, i) => {
        const field = fields[i]!;
        if (field.mode === 'REPEATED') return { v: (v as unknown[] | null)?.map((item) => ({ v: encode(field.type, item) })) ?? [] };
        return { v: encode(field.type, v) };
      }),
    }));
    return { fields, rows };
  }
}

let dataDir: string;
let truth: GroundTruth;
let instance: DuckDBInstance;
let fake: FakeBigQuery;
let endpoint: string;
let duck: Warehouse;

function authClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'test-token', expiry_date: NOW.getTime() + 10 * 365 * 86_400_000 });
  return client;
}

function bigquery(over: Partial<BigQueryWarehouseOptions> = {}): Warehouse {
  return createBigQueryWarehouse({
    jobProject: JOB_PROJECT,
    dataProject: DATA_PROJECT,
    dataset: DATASET,
    location: 'EU',
    logger,
    maxBytesPerQuery: 10_000_000,
    jobTimeoutMs: 120_000,
    tables: RENAMED,
    client: { apiEndpoint: endpoint, authClient: authClient(), autoRetry: false },
    ...over,
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tsi-bq-'));
  await ensureLocalWarehouse({ dataDir, users: 80, seed: 5, logger, clock: new ManualClock(NOW) });
  truth = JSON.parse(readFileSync(localWarehousePaths(dataDir).groundTruth, 'utf8'));
  const file = localWarehousePaths(dataDir).file;
  instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  fake = new FakeBigQuery(await instance.connect());
  endpoint = await fake.start();
  duck = createDuckDbWarehouse({ file, logger, maxBytesPerQuery: 1e12 });
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
});

const USAGE_QUERY = {
  label: 'usage_probe',
  sql: `SELECT user_id, COUNT(*) AS requests FROM {{fct_tts_usage}}
        WHERE event_ts >= @since AND event_ts < @until AND user_id IN (SELECT * FROM UNNEST(@ids))
        GROUP BY user_id ORDER BY user_id`,
  params: { since: new Date('2026-01-01T00:00:00Z'), until: NOW, ids: ['usr_demo_clean', 'usr_demo_spiky'], unused: 'x' },
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

  it('refuses a query whose dry-run estimate is over budget, without running it', async () => {
    fake.dryRunBytes = 50_000_000;
    await expect(bigquery().query(USAGE_QUERY)).rejects.toBeInstanceOf(WarehouseBudgetError);
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
    const all = { label: 'users_page', sql: 'SELECT user_id FROM {{dim_users}} ORDER BY user_id', params: {} };
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
              FROM {{dim_users}} WHERE user_id IN (SELECT * FROM UNNEST(@ids)) ORDER BY user_id`,
        params: { ids: truth.demo_subjects.flatMap((d) => d.user_ids) },
      },
      {
        label: 'payments_typed',
        sql: `SELECT user_id, COUNT(*) AS n, SUM(amount_usd) AS total, MAX(payment_ts) AS last_ts
              FROM {{fct_payments}} WHERE payment_ts >= @since GROUP BY user_id ORDER BY user_id`,
        params: { since: new Date('2025-01-01T00:00:00Z') },
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
    const strip = (r: AgentResult) => ({ ...r, steps: r.steps.map(({ estimated_bytes: _e, bytes_processed: _b, duration_ms: _d, ...s }) => s) });
    const bq = bigquery({ maxBytesPerQuery: 10_000_000 });
    for (const demo of truth.demo_subjects) {
      const input = { subject: demo.subject, windowDays: 30, now: NOW };
      const clock = () => ({ clock: new ManualClock(NOW) });
      const a = await runInvestigation(input, duck, {}, clock());
      const b = await runInvestigation(input, bq, {}, clock());
      expect({ key: demo.key, ...strip(b) }).toEqual({ key: demo.key, ...strip(a) });
      expect(b.steps.every((s) => s.bytes_processed === 4096 && s.estimated_bytes === 1_234_567)).toBe(true);
    }
  });
});
