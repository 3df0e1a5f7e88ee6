import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BIGINT, BOOLEAN, DOUBLE, DuckDBTypeId, LIST, TIMESTAMP, VARCHAR, listValue, timestampValue, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';

/**
 * A local HTTP server speaking the BigQuery v2 REST API for exactly the calls the production
 * engine (shared/warehouse/bigquery.ts) makes through @google-cloud/bigquery, answering queries
 * by running them on a DuckDB connection — so parameter encoding, paging, polling, cancellation
 * and error mapping are exercised through the real client library. Used by the integration tests
 * and the benchmark; never by the running platform.
 *
 * Implements:
 * - `POST /projects/{p}/jobs` (jobs.insert): dry run → `statistics.totalBytesProcessed` =
 *   `dryRunBytes`; query job → runs the SQL now, state RUNNING; `billingLimitExceeded` → a DONE job
 *   with `errorResult.reason = bytesBilledLimitExceeded`; `failInsert` → an HTTP error with a reason.
 * - `GET /projects/{p}/queries/{job}` (jobs.getQueryResults): `jobComplete: false` for
 *   `pollsBeforeComplete` polls, then rows in the REST `f`/`v` shape (TIMESTAMP as int64 µs when
 *   `formatOptions.useInt64Timestamp`), paged by `maxResults`/`pageToken`, `totalBytesProcessed`.
 * - `GET /projects/{p}/jobs/{job}` (jobs.get): state and query statistics.
 * - `POST /projects/{p}/jobs/{job}/cancel` (jobs.cancel): recorded in `cancelled`.
 * Every request is recorded (method, path, query string, headers, JSON body).
 *
 * Does NOT implement: BigQuery's SQL dialect (the SQL is run on DuckDB after renaming
 * `project.dataset.table` to the local table and `@p` to `$p`, so only SQL both engines accept
 * works), real byte accounting (the figures are the configured ones), `jobs.query`, `tabledata`,
 * sessions, scripting, STRUCT/RECORD results, GEOGRAPHY/JSON/BYTES types, location checks, IAM,
 * quotas, retries or rate limits.
 */
export interface Recorded {
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

export class LocalBigQueryServer {
  readonly requests: Recorded[] = [];
  /** Bytes a dry run reports (statistics.totalBytesProcessed). */
  dryRunBytes = 1_234_567;
  /** Bytes a finished job reports as processed and billed. */
  processedBytes = 4096;
  /** getQueryResults answers `jobComplete: false` this many times first (Infinity: never completes). */
  pollsBeforeComplete = 0;
  failInsert: { status: number; reason: string } | null = null;
  /** Query jobs fail with `bytesBilledLimitExceeded`, as BigQuery does past maximumBytesBilled. */
  billingLimitExceeded = false;
  readonly cancelled: string[] = [];
  private readonly jobs = new Map<string, { fields: Field[]; rows: unknown[]; polls: number; ref: Record<string, unknown>; configuration: unknown }>();
  private server: Server | null = null;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly names: { dataProject: string; dataset: string; renamed?: Record<string, string> },
  ) {}

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
      this.jobs.set(ref.jobId, { ...(await this.execute(job.configuration.query, r)), polls: this.pollsBeforeComplete, ref, configuration: job.configuration });
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
      return [200, { kind: 'bigquery#getQueryResultsResponse', jobReference, schema: { fields: job.fields }, rows, totalRows: String(job.rows.length), ...(next ? { pageToken: next } : {}), jobComplete: true, totalBytesProcessed: String(this.processedBytes), cacheHit: false }];
    }
    const getJob = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(r.path);
    if (getJob && r.method === 'GET') {
      const job = this.jobs.get(getJob[2]!);
      if (!job) return [404, { error: { code: 404, message: 'Not found: job', errors: [{ reason: 'notFound' }] } }];
      const done = job.polls <= 0;
      const bytes = String(this.processedBytes);
      return [200, { kind: 'bigquery#job', id: `${getJob[1]}:${job.ref.location}.${getJob[2]}`, jobReference: job.ref, configuration: job.configuration, status: { state: done ? 'DONE' : 'RUNNING' }, statistics: done ? { totalBytesProcessed: bytes, query: { totalBytesProcessed: bytes, totalBytesBilled: bytes, cacheHit: false } } : {} }];
    }
    const cancel = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)\/cancel$/.exec(r.path);
    if (cancel && r.method === 'POST') {
      this.cancelled.push(cancel[2]!);
      const job = this.jobs.get(cancel[2]!);
      return [200, { kind: 'bigquery#jobCancelResponse', job: { jobReference: job?.ref ?? {}, status: { state: 'DONE' } } }];
    }
    return [404, { error: { code: 404, message: 'no such route', errors: [{ reason: 'notFound' }] } }];
  }

  /** Runs the BigQuery-spelled query on DuckDB and encodes the answer as the REST API does. */
  private async execute(config: any, r: Recorded): Promise<{ fields: Field[]; rows: unknown[] }> {
    const local = Object.fromEntries(Object.entries(this.names.renamed ?? {}).map(([k, v]) => [v, k]));
    const sql = (config.query as string)
      .replace(/`([^`]+)`/g, (_m, name: string) => {
        const [project, dataset, table] = name.split('.');
        if (project !== this.names.dataProject || dataset !== this.names.dataset) throw new Error(`unexpected table ${name}`);
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

