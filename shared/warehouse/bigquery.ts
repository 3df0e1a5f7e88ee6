import type { BigQuery, Job } from '@google-cloud/bigquery';
import type { Logger } from '../platform/logger.js';
import { TABLE_NAMES, type TableName } from './contract.js';
import { WarehouseBudgetError, WarehouseQueryError, WarehouseTimeoutError, WarehouseUnavailableError } from './errors.js';
import type { EngineQuery, EngineResult, EngineRun, ParamValue, WarehouseEngine } from './port.js';

export interface BigQueryEngineOptions {
  /** Project the query jobs run (and are billed) in. */
  jobProject: string;
  /** Project and dataset holding the contract tables (e.g. the analytics team's `dbt_marts`). */
  dataProject: string;
  dataset: string;
  location: string;
  logger: Logger;
  /** Rows per results page. */
  pageSize?: number;
  /** Real table names where they differ from the contract's. */
  tables?: Partial<Record<TableName, string>>;
  /** Client overrides: another endpoint (tests, private service connect) or credentials. */
  client?: { apiEndpoint?: string; authClient?: unknown; autoRetry?: boolean };
}

const PROJECT = /^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/;
const DATASET = /^[A-Za-z0-9_]{1,1024}$/;
const TABLE = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}$]{1,1024}$/u;

type QueryParameter = {
  name: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string; arrayValues?: { value: string }[] };
};

/**
 * Query parameters in the REST shape (jobs.insert `queryParameters`). Built here rather than by the
 * client's `params`/`types` helpers so that NULLs and empty arrays carry a type and the request
 * contains nothing but documented fields.
 */
export function toQueryParameters(params: Record<string, ParamValue>): QueryParameter[] {
  return Object.entries(params).map(([name, v]) => {
    if (v === null) return { name, parameterType: { type: 'STRING' }, parameterValue: {} };
    if (Array.isArray(v)) return { name, parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } }, parameterValue: { arrayValues: v.map((value) => ({ value })) } };
    if (v instanceof Date) return { name, parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: v.toISOString() } };
    if (typeof v === 'number') return { name, parameterType: { type: Number.isInteger(v) ? 'INT64' : 'FLOAT64' }, parameterValue: { value: String(v) } };
    if (typeof v === 'boolean') return { name, parameterType: { type: 'BOOL' }, parameterValue: { value: String(v) } };
    return { name, parameterType: { type: 'STRING' }, parameterValue: { value: v } };
  });
}

/**
 * The production engine: BigQuery through the official client, reachable only through the guard,
 * which hands it SQL with contract tables already spelled `project.dataset.table`. The estimate
 * is a dry run; a run is a query job with named typed parameters, `maximumBytesBilled` (BigQuery
 * itself refuses to bill more), `jobTimeoutMs`, a label and a job id prefix, read page by page
 * only as far as the row limit needs; past its timeout the job is cancelled.
 */
export function createBigQueryEngine(options: BigQueryEngineOptions): WarehouseEngine {
  if (!PROJECT.test(options.jobProject) || !PROJECT.test(options.dataProject)) throw new Error('BigQuery project ids are malformed');
  if (!DATASET.test(options.dataset)) throw new Error('BigQuery dataset name is malformed');
  const tableNames = Object.fromEntries(TABLE_NAMES.map((t) => [t, options.tables?.[t] ?? t])) as Record<TableName, string>;
  for (const name of Object.values(tableNames)) if (!TABLE.test(name)) throw new Error('BigQuery table name is malformed');
  const pageSize = options.pageSize ?? 5_000;

  let client: Promise<BigQuery> | null = null;
  const bigquery = () =>
    (client ??= (async () => {
      const { BigQuery } = await import('@google-cloud/bigquery');
      return new BigQuery({
        projectId: options.jobProject,
        location: options.location,
        ...(options.client?.apiEndpoint ? { apiEndpoint: options.client.apiEndpoint } : {}),
        ...(options.client?.authClient ? { authClient: options.client.authClient as never } : {}),
        ...(options.client?.autoRetry !== undefined ? { autoRetry: options.client.autoRetry } : {}),
      });
    })());

  const request = (q: EngineQuery) => ({
    query: q.sql,
    useLegacySql: false,
    parameterMode: 'NAMED',
    queryParameters: toQueryParameters(q.params),
    location: options.location,
    labels: { tsi_query: q.label },
  });

  return {
    kind: 'bigquery',

    tableName: (table) => `\`${options.dataProject}.${options.dataset}.${tableNames[table]}\``,

    async estimate(q: EngineQuery): Promise<number> {
      const bq = await bigquery();
      try {
        const [dry] = await bq.createQueryJob({ ...request(q), dryRun: true });
        return Number(dry.metadata?.statistics?.totalBytesProcessed ?? dry.metadata?.statistics?.query?.totalBytesProcessed ?? 0);
      } catch (error) {
        throw mapError(error, q.label, 0, options.logger);
      }
    },

    async run<T = Record<string, unknown>>(q: EngineRun): Promise<EngineResult<T>> {
      const bq = await bigquery();
      const started = performance.now();
      try {
        const [job] = await bq.createQueryJob({
          ...request(q),
          maximumBytesBilled: String(q.maxBytesBilled),
          jobTimeoutMs: q.timeoutMs,
          jobPrefix: `tsi_${q.label}_`,
        });
        const { rows, truncated, bytesProcessed: fromResults } = await readResults(job, q.label, q.maxRows, pageSize, q.timeoutMs);
        // jobs.get: the job's own statistics are authoritative for what was processed (lineage).
        const [meta] = (await job.getMetadata()) as unknown as [{ statistics?: { totalBytesProcessed?: string; query?: { totalBytesProcessed?: string } } }];
        const fromJob = meta.statistics?.query?.totalBytesProcessed ?? meta.statistics?.totalBytesProcessed;
        const bytesProcessed = fromJob !== undefined ? Number(fromJob) : fromResults;
        const durationMs = Math.round(performance.now() - started);
        options.logger.debug('warehouse query', { query: q.label, job_id: job.id, rows: rows.length, truncated, bytes_processed: bytesProcessed, duration_ms: durationMs });
        return { rows: rows as T[], truncated, bytesProcessed, durationMs, jobId: job.id ?? null };
      } catch (error) {
        throw mapError(error, q.label, q.maxBytesBilled, options.logger);
      }
    },

    async dataVersion() {
      // Table modification times would cost a request per table; the guard's cache TTL bounds staleness.
      return null;
    },

    async ping() {
      const bq = await bigquery();
      try {
        await bq.createQueryJob({ query: 'SELECT 1', useLegacySql: false, dryRun: true, location: options.location });
      } catch (error) {
        throw mapError(error, 'ping', 0, options.logger);
      }
    },

    async close() {
      client = null;
    },
  };
}

async function readResults(job: Job, label: string, maxRows: number, pageSize: number, jobTimeoutMs: number) {
  const rows: Record<string, unknown>[] = [];
  let pageToken: string | undefined;
  let bytesProcessed: number | null = null;
  let more = false;
  // BigQuery itself stops the job at jobTimeoutMs; past it we also cancel it (a wedged poll, or a
  // job BigQuery did not stop), so nothing keeps running for a caller who has given up.
  const deadline = performance.now() + jobTimeoutMs;
  for (;;) {
    const [parsedRows, , response] = (await job.getQueryResults({
      autoPaginate: false,
      maxResults: Math.min(pageSize, maxRows + 1 - rows.length),
      ...(pageToken ? { pageToken } : {}),
    })) as unknown as [Record<string, unknown>[] | undefined, unknown, RawQueryResponse];
    if (response.jobComplete === false) {
      if (performance.now() > deadline) {
        await job.cancel().catch(() => undefined);
        throw new WarehouseTimeoutError(label, jobTimeoutMs);
      }
      continue;
    }
    if (response.totalBytesProcessed !== undefined) bytesProcessed = Number(response.totalBytesProcessed);
    const fields = response.schema?.fields ?? [];
    for (const row of parsedRows ?? []) rows.push(normaliseRow(fields, row));
    pageToken = response.pageToken ?? undefined;
    if (rows.length > maxRows || !pageToken) {
      more = rows.length > maxRows || Boolean(pageToken);
      break;
    }
  }
  return { rows: rows.slice(0, maxRows), truncated: more, bytesProcessed };
}

interface SchemaField {
  name: string;
  type: string;
  mode?: string;
  fields?: SchemaField[];
}
interface RawQueryResponse {
  jobComplete?: boolean;
  schema?: { fields?: SchemaField[] };
  pageToken?: string | null;
  totalBytesProcessed?: string;
}

/**
 * The client's parsed rows → the port's row shape, by schema, matching the DuckDB adapter:
 * INT64/NUMERIC/BIGNUMERIC → number (the client gives Big for NUMERIC), TIMESTAMP → ISO-8601 UTC
 * with milliseconds (the client gives BigQueryTimestamp), DATE/DATETIME/TIME → their canonical
 * strings, REPEATED → array, RECORD → object.
 */
export function normaliseRow(fields: SchemaField[], row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(fields.map((field) => [field.name, normaliseValue(field, row[field.name])]));
}

function normaliseValue(field: SchemaField, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (field.mode === 'REPEATED') return (v as unknown[]).map((item) => normaliseValue({ ...field, mode: 'NULLABLE' }, item));
  const wrapped = typeof v === 'object' && v !== null && 'value' in v ? (v as { value: unknown }).value : v;
  switch (field.type) {
    case 'RECORD':
    case 'STRUCT':
      return normaliseRow(field.fields ?? [], v as Record<string, unknown>);
    case 'INTEGER':
    case 'INT64':
    case 'FLOAT':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return Number(String(wrapped));
    case 'BOOLEAN':
    case 'BOOL':
      return typeof v === 'boolean' ? v : String(v).toLowerCase() === 'true';
    case 'TIMESTAMP':
      return timestampToIso(String(wrapped));
    default:
      return String(wrapped);
  }
}

/** BigQuery sends TIMESTAMP as int64 microseconds (useInt64Timestamp), float seconds, or ISO text. */
export function timestampToIso(value: string): string {
  if (/^-?\d+$/.test(value)) return new Date(Number(BigInt(value) / 1000n)).toISOString();
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)) return new Date(Math.round(Number(value) * 1000)).toISOString();
  return new Date(value.replace(/(\.\d{3})\d+/, '$1')).toISOString();
}

function mapError(error: unknown, label: string, budgetBytes: number, logger: Logger): Error {
  if (error instanceof WarehouseBudgetError || error instanceof WarehouseQueryError || error instanceof WarehouseTimeoutError) return error;
  const e = error as { code?: number | string; errors?: { reason?: string }[]; response?: { status?: { errorResult?: { reason?: string } } } };
  const reason = e.errors?.[0]?.reason ?? e.response?.status?.errorResult?.reason;
  logger.error('BigQuery request failed', error, { query: label, reason, code: e.code });
  if (reason === 'bytesBilledLimitExceeded') return new WarehouseBudgetError(label, null, budgetBytes);
  if (reason === 'jobTimeout' || reason === 'stopped') return new WarehouseQueryError(label, `BigQuery reported "${reason}" (the job ran past its timeout or was cancelled)`);
  if (reason && ['invalidQuery', 'invalid', 'notFound', 'accessDenied', 'jobTimeout', 'timeout', 'stopped', 'duplicate'].includes(reason)) {
    return new WarehouseQueryError(label, `BigQuery reported "${reason}"`);
  }
  if (typeof e.code === 'number' && e.code >= 400 && e.code < 500 && e.code !== 429) return new WarehouseQueryError(label, `BigQuery returned HTTP ${e.code}`);
  return new WarehouseUnavailableError('BigQuery is unreachable or overloaded; the query can be retried.');
}
