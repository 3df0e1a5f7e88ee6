import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditInput, AuditLog } from '../../shared/audit/model.js';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS, type GuardSettings } from '../../shared/guard/guarded.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import { WarehouseTimeoutError } from '../../shared/warehouse/errors.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { WarehouseEngine } from '../../shared/warehouse/port.js';

/** The guard over the real DuckDB engine and a generated warehouse. */
const NOW = new Date('2026-03-01T12:00:00Z');
const logger = new Logger({}, () => undefined, 'ERROR');
const dataDir = mkdtempSync(join(tmpdir(), 'tsi-guard-'));
const LEAD = { principal: 'lead@example.com', roles: ['lead'] };
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

/** Counts what reaches the engine (the guard is the system under test, the engine is real). */
function counting(inner: WarehouseEngine) {
  const seen = { runs: 0, estimates: 0, inFlight: 0, maxInFlight: 0 };
  const wrapped: WarehouseEngine = {
    ...inner,
    kind: inner.kind,
    tableName: (t) => inner.tableName(t),
    estimate: async (q) => {
      seen.estimates++;
      return inner.estimate(q);
    },
    run: async (q) => {
      seen.runs++;
      seen.inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      try {
        return await inner.run(q);
      } finally {
        seen.inFlight--;
      }
    },
    dataVersion: () => inner.dataVersion(),
  };
  return { engine: wrapped, seen };
}

function guard(settings: Partial<GuardSettings> = {}) {
  const audit = new MemoryAudit();
  const c = counting(engine);
  const wh = createGuardedWarehouse({ engine: c.engine, settings: { ...DEFAULT_GUARD_SETTINGS, ...settings }, clock: new ManualClock(NOW), logger, audit: audit as unknown as AuditLog });
  return { wh, audit, seen: c.seen };
}

beforeAll(async () => {
  await ensureLocalWarehouse({ dataDir, users: 120, seed: 7, logger, clock: new ManualClock(NOW) });
  engine = createDuckDbEngine({ file: localWarehousePaths(dataDir).file, logger });
});
afterAll(async () => {
  await engine.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const USAGE = {
  label: 'usage',
  sql: 'SELECT user_id, SUM(characters) AS chars FROM fct_tts_usage WHERE event_ts >= TIMESTAMP_SUB(@now, INTERVAL 30 DAY) AND event_ts < @now GROUP BY user_id ORDER BY user_id',
  params: { now: NOW },
  actor: LEAD,
};

describe('the guarded local warehouse', () => {
  it('answers an identical query from the cache without touching the engine, and records the hit', async () => {
    const { wh, audit, seen } = guard();
    const first = await wh.query(USAGE);
    const second = await wh.query({ ...USAGE, sql: USAGE.sql.replace(/\s+/g, '  ') + ' -- same query' });
    expect(second.rows).toEqual(first.rows);
    expect(first.lineage.cache_hit).toBe(false);
    expect(second.lineage).toMatchObject({ cache_hit: true, sql_hash: first.lineage.sql_hash, estimated_bytes: 0 });
    expect(seen).toMatchObject({ runs: 1, estimates: 1 });
    // A different parameter is a different query.
    await wh.query({ ...USAGE, params: { now: new Date(NOW.getTime() - 86_400_000) } });
    expect(seen.runs).toBe(2);
    expect(audit.records.map((r) => [r.action, r.outcome, (r.details as { cache_hit?: boolean }).cache_hit])).toEqual([
      ['warehouse.query', 'allowed', false],
      ['warehouse.query', 'allowed', true],
      ['warehouse.query', 'allowed', false],
    ]);
  });

  it('never caches a query that reads the current time', async () => {
    const { wh, seen } = guard();
    const q = { ...USAGE, sql: 'SELECT COUNT(*) AS n FROM fct_tts_usage WHERE event_ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)', params: {} };
    await wh.query(q);
    const again = await wh.query(q);
    expect(again.lineage.cache_hit).toBe(false);
    expect(seen.runs).toBe(2);
  });

  it('queues a burst behind the concurrency limit instead of failing, and refuses past the queue bound', async () => {
    const { wh, seen } = guard({ maxConcurrent: 2, cacheEntries: 0 });
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => wh.query({ ...USAGE, params: { now: new Date(NOW.getTime() - i * 3_600_000) } })));
    expect(burst.every((r) => r.rows.length > 0)).toBe(true);
    expect(seen.runs).toBe(8);
    expect(seen.maxInFlight).toBe(2);

    const tight = guard({ maxConcurrent: 1, maxQueued: 1, cacheEntries: 0 });
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => tight.wh.query(USAGE)));
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.type)).toContain('warehouse-busy');
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
  });

  it('cancels a query past its timeout and audits the failure', async () => {
    const { wh, audit } = guard({ timeoutMs: 200, cacheEntries: 0, budgetBytesByRole: { lead: 1e15 } });
    const slow = {
      label: 'slow',
      sql: `SELECT COUNT(*) AS n FROM fct_tts_usage a JOIN fct_tts_usage b ON a.characters + b.characters > 0 JOIN fct_tts_usage c ON c.characters > b.characters
            WHERE a.event_ts >= @s AND b.event_ts >= @s AND c.event_ts >= @s`,
      params: { s: new Date(NOW.getTime() - 60 * 86_400_000) },
      actor: LEAD,
    };
    await expect(wh.query(slow)).rejects.toBeInstanceOf(WarehouseTimeoutError);
    expect(audit.records.at(-1)).toMatchObject({ action: 'warehouse.query', outcome: 'failed', reason: 'warehouse-timeout' });
    // The engine is usable afterwards.
    await expect(wh.query(USAGE)).resolves.toMatchObject({ rows: expect.any(Array) });
  });

  it('holds each caller to the byte budget of their role, stating the estimate and the budget', async () => {
    const probe = await guard().wh.query(USAGE);
    const estimate = probe.lineage.estimated_bytes;
    expect(estimate).toBeGreaterThan(0);
    const { wh, audit } = guard({ budgetBytesByRole: { analyst: estimate - 1, lead: estimate }, cacheEntries: 0 });
    const refused = await wh.query({ ...USAGE, actor: ANALYST }).catch((e) => e);
    expect(refused).toMatchObject({ status: 422, type: 'warehouse-guard-refused', rule: 'over-budget', extras: { estimated_bytes: estimate, budget_bytes: estimate - 1 } });
    expect(refused.detail).toContain(String(estimate));
    await expect(wh.query(USAGE)).resolves.toMatchObject({ lineage: { budget_bytes: estimate } });
    expect(audit.records[0]).toMatchObject({ actor: 'analyst@example.com', outcome: 'denied', reason: 'over-budget' });
  });

  it('prices a narrower window lower (partition pruning in the local estimate)', async () => {
    const { wh } = guard({ cacheEntries: 0 });
    const wide = await wh.query(USAGE);
    const narrow = await wh.query({ ...USAGE, sql: USAGE.sql.replace('30 DAY', '3 DAY') });
    expect(narrow.lineage.estimated_bytes).toBeLessThan(wide.lineage.estimated_bytes);
  });

  it('audits refusals with the rule and masks personal data in recorded parameters', async () => {
    const { wh, audit } = guard();
    await expect(wh.query({ label: 'x', sql: 'SELECT email FROM dim_users WHERE email = @e', params: { e: 'jane@example.com' }, actor: ANALYST, origin: 'adhoc' })).rejects.toMatchObject({ rule: 'pii-not-permitted' });
    const lead = await wh.query({ label: 'y', sql: 'SELECT user_id FROM dim_users WHERE email = @e', params: { e: 'jane@example.com' }, actor: LEAD, origin: 'adhoc' });
    expect(lead.lineage.params).toEqual({ e: 'j***@example.com' });
    expect(audit.records.map((r) => [r.outcome, r.reason])).toEqual([
      ['denied', 'pii-not-permitted'],
      ['allowed', null],
    ]);
    expect(JSON.stringify(audit.records)).not.toContain('jane@example.com');
  });

  it('emits a guard.refusal metric line naming the rule, for the refusal-spike alert', async () => {
    const lines: string[] = [];
    const wh = createGuardedWarehouse({ engine, settings: DEFAULT_GUARD_SETTINGS, clock: new ManualClock(NOW), logger: new Logger({}, (l) => lines.push(l)), audit: new MemoryAudit() as unknown as AuditLog });
    await expect(wh.query({ label: 'x', sql: 'SELECT * FROM fct_tts_usage WHERE event_ts >= @now', params: { now: NOW }, actor: LEAD, origin: 'adhoc' })).rejects.toMatchObject({ rule: 'select-star-on-fact' });
    const metrics = lines.map((l) => JSON.parse(l)).filter((e) => e.metric);
    expect(metrics).toEqual([expect.objectContaining({ metric: expect.objectContaining({ name: 'guard.refusal', value: 1, labels: { rule: 'select-star-on-fact' } }) })]);
  });
});
