import fs from 'node:fs';
import path from 'node:path';
import type { AuditLog } from '../../shared/audit/model.js';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { Logger } from '../../shared/platform/logger.js';
import type { QualityReport } from '../../shared/quality/checks.js';
import { QUALITY_COLLECTION, readLatestQualityReport, runQualityJob } from '../../shared/quality/job.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { WarehouseEngine } from '../../shared/warehouse/port.js';
import { seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';

/**
 * The data-quality job end to end on the real local stand-ins: a generated DuckDB warehouse behind
 * the real guard, and the embedded Firestore emulator holding investigations, outbox and reports.
 */
let f: Fixture;
let engine: WarehouseEngine;
let renamed: WarehouseEngine;
const logLines: Array<Record<string, any>> = [];
const logger = new Logger({}, (line) => logLines.push(JSON.parse(line)), 'DEBUG');

beforeAll(async () => {
  f = await startFixture(new Date('2026-03-01T12:00:00Z'));
  const quiet = new Logger({}, () => undefined, 'ERROR');
  await ensureLocalWarehouse({ dataDir: f.dir, users: 120, seed: 7, logger: quiet, clock: f.clock });
  engine = createDuckDbEngine({ file: localWarehousePaths(f.dir).file, logger: quiet });
  // A copy of the warehouse whose pipeline renamed a contract column.
  const copy = path.join(f.dir, 'renamed.duckdb');
  fs.copyFileSync(localWarehousePaths(f.dir).file, copy);
  const duck = await import('@duckdb/node-api');
  const instance = await duck.DuckDBInstance.create(copy);
  const conn = await instance.connect();
  await conn.run('ALTER TABLE fct_payments RENAME COLUMN amount_usd TO amount');
  conn.closeSync();
  instance.closeSync();
  renamed = createDuckDbEngine({ file: copy, logger: quiet });
}, 120_000);

afterAll(async () => {
  await engine.close();
  await renamed.close();
  await f.stop();
});

function job(eng: WarehouseEngine = engine) {
  const warehouse = createGuardedWarehouse({ engine: eng, settings: DEFAULT_GUARD_SETTINGS, clock: f.clock, logger, audit: f.audit as unknown as AuditLog });
  const store = new InvestigationStore(f.db, undefined, f.clock);
  return runQualityJob({ warehouse, store, db: f.db, audit: f.audit, clock: f.clock, logger, requestId: 'evt_test' });
}

const byName = (r: QualityReport) => Object.fromEntries(r.checks.map((c) => [c.name, c]));
const jobRuns = () => logLines.filter((l) => l.metric?.name === 'job.run').map((l) => l.metric.labels);

describe('data-quality job', () => {
  it('passes every check on freshly generated data, stores the report and audits the run without personal data', async () => {
    const report = await job();
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(Object.keys(byName(report))).toEqual(
      expect.arrayContaining(['contract.dim_users', 'contract.fct_payments', 'freshness.fct_tts_usage', 'volume.fct_logins', 'platform.stuck_investigations', 'platform.outbox_backlog']),
    );
    expect(await readLatestQualityReport(f.db)).toEqual(report);
    expect((await f.db.collection(QUALITY_COLLECTION).doc('2026-03-01').get()).data()).toEqual(report);
    const audited = f.audit.records.filter((r) => r.action === 'quality.checked');
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ actor: 'system:data-quality', resource: 'quality_reports/2026-03-01', outcome: 'allowed', details: { fail: 0, failed: [] } });
    // Every probe went through the guard as the service actor and returned no PII column.
    const queries = f.audit.records.filter((r) => r.action === 'warehouse.query');
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const q of queries) expect([q.actor, q.outcome, q.details?.pii_columns]).toEqual(['system:data-quality', 'allowed', []]);
    expect(JSON.stringify(report)).not.toMatch(/@|\d+\.\d+\.\d+\.\d+/);
    expect(jobRuns().at(-1)).toEqual({ job: 'data-quality', outcome: 'ok' });
  });

  it('fails freshness (naming the table) and volume when the data is five days old, and fails the job run', async () => {
    f.clock.advance(5 * 86_400_000);
    try {
      const report = await job();
      const checks = byName(report);
      expect(checks['freshness.fct_tts_usage']).toMatchObject({ status: 'fail', threshold: 36 });
      expect(checks['freshness.fct_tts_usage']!.detail).toMatch(/^fct_tts_usage has nothing newer than 2026-0[23]-\d\d \d\d:\d\d UTC/);
      expect(checks['volume.fct_tts_usage']!.status).toBe('fail');
      expect(checks['contract.fct_tts_usage']!.status).toBe('ok');
      expect(logLines.filter((l) => l.message === 'data-quality check failed').map((l) => l.check)).toContain('freshness.fct_tts_usage');
      expect(jobRuns().at(-1)).toEqual({ job: 'data-quality', outcome: 'failed' });
      expect((await readLatestQualityReport(f.db))?.checked_at).toBe('2026-03-06T12:00:00.000Z');
    } finally {
      f.clock.advance(-5 * 86_400_000);
    }
  });

  it('names a contract column the warehouse no longer has', async () => {
    const report = await job(renamed);
    const checks = byName(report);
    expect(checks['contract.fct_payments']).toMatchObject({ status: 'fail', value: 1, detail: 'Missing or unreadable contract column(s): fct_payments.amount_usd.' });
    expect(checks['contract.fct_tts_usage']!.status).toBe('ok');
    expect(checks['freshness.fct_payments']!.status).toBe('ok');
  });

  it('fails on an investigation stuck in running past its lease and on events the outbox never published', async () => {
    const now = f.clock.now();
    const stuck = await seedInvestigation(f, { type: 'email', value: 'someone@example.com' }, {
      status: 'running',
      lease: { owner: 'worker-1', event_id: 'evt_1', expires_at: new Date(now.getTime() - 60 * 60_000).toISOString() },
    });
    // A running one whose lease is still valid is fine.
    await seedInvestigation(f, { type: 'email', value: 'other@example.com' }, { status: 'running', lease: { owner: 'worker-2', event_id: 'evt_2', expires_at: new Date(now.getTime() + 60_000).toISOString() } });
    await f.db.collection('outbox').doc('evt_old').set({ event: { id: 'evt_old' }, created_at: new Date(now.getTime() - 30 * 60_000).toISOString(), published_at: null });
    await f.db.collection('outbox').doc('evt_new').set({ event: { id: 'evt_new' }, created_at: now.toISOString(), published_at: null });
    const report = await job();
    const checks = byName(report);
    expect(checks['platform.stuck_investigations']).toMatchObject({ status: 'fail', value: 1, detail: expect.stringContaining(stuck.id) });
    expect(checks['platform.outbox_backlog']).toMatchObject({ status: 'fail', value: 1 });
    expect(JSON.stringify(report)).not.toContain('example.com');
  });
});
