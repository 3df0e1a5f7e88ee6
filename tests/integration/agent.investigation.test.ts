import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINDING_TYPES, type AgentResult, type StepRecord } from '../../shared/agent/model.js';
import { runInvestigation, verifyEvidence } from '../../shared/agent/run.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { loadConfig } from '../../shared/platform/config.js';
import { Logger } from '../../shared/platform/logger.js';
import { redactText } from '../../shared/platform/redact.js';
import { WarehouseQueryError } from '../../shared/warehouse/errors.js';
import type { GroundTruth } from '../../shared/warehouse/generator.js';
import { createWarehouse, ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';
import type { Warehouse } from '../../shared/warehouse/port.js';

/**
 * The agent against a generated warehouse (200 accounts, fixed seed) through the real DuckDB
 * adapter, checked against the generator's ground truth.
 */
const NOW = new Date('2026-03-01T12:00:00Z');
const logger = new Logger({}, () => undefined, 'ERROR');
const dataDir = mkdtempSync(join(tmpdir(), 'tsi-agent-'));
let warehouse: Warehouse;
let truth: GroundTruth;

beforeAll(async () => {
  await ensureLocalWarehouse({ dataDir, users: 200, seed: 42, logger, clock: new ManualClock(NOW) });
  truth = JSON.parse(readFileSync(localWarehousePaths(dataDir).groundTruth, 'utf8'));
  warehouse = createWarehouse(loadConfig({ TSI_DATA_DIR: dataDir }), { logger });
});
afterAll(async () => {
  await warehouse.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const investigate = (subject: { type: 'email' | 'user_id' | 'voice_id' | 'ip' | 'card_fingerprint'; value: string }, windowDays = 30, w: Warehouse = warehouse) =>
  runInvestigation({ subject, windowDays, now: NOW }, w, {}, { clock: new ManualClock(NOW) });
const types = (r: AgentResult) => [...new Set(r.findings.map((f) => f.type))].sort();

describe('investigations of the demo subjects', () => {
  const results = new Map<string, AgentResult>();
  beforeAll(async () => {
    for (const demo of truth.demo_subjects) results.set(demo.key, await investigate(demo.subject));
  });

  it('report exactly the expected findings for each demo subject', () => {
    const got = truth.demo_subjects.map((d) => ({ key: d.key, findings: types(results.get(d.key)!), escalate: results.get(d.key)!.findings.some((f) => f.escalate) }));
    const want = truth.demo_subjects.map((d) => ({ key: d.key, findings: d.expected_findings, escalate: d.escalate }));
    expect(got).toEqual(want);
    for (const d of truth.demo_subjects) expect(results.get(d.key)!.accounts).toEqual(d.user_ids);
  });

  it('say a clean account is clean: no findings, score 0, no action', () => {
    const clean = results.get('clean')!;
    expect(clean).toMatchObject({ resolved: true, findings: [], risk: { score: 0, contributions: [] }, recommended_action: { action: 'none' } });
    expect(clean.summary).toMatch(/No abuse signals found/);
    expect(clean.steps.map((s) => s.status)).toEqual(Array(7).fill('ok'));
  });

  it('say a subject that does not exist was not found, and stop after resolving it', () => {
    const missing = results.get('not_found')!;
    expect(missing).toMatchObject({ resolved: false, accounts: [], findings: [], recommended_action: { action: 'none' } });
    expect(missing.summary).toMatch(/not found/i);
    expect(missing.steps.map((s) => s.name)).toEqual(['resolve_email']);
  });

  it('escalate the critical moderation flag and rank the subjects by risk', () => {
    expect(results.get('critical_flag')!.recommended_action.action).toBe('escalate');
    expect(results.get('ban_evader')!.recommended_action.action).toMatch(/suspend|ban/);
    expect(results.get('spiky')!.recommended_action.action).toBe('monitor');
    expect(results.get('team_member')!.findings).toMatchObject([{ type: 'linked_accounts', severity: 'low' }]);
    expect(results.get('ring_member')!.risk.score).toBeGreaterThan(results.get('team_member')!.risk.score);
  });

  it('cite evidence rows that re-running the step\'s query with its stored params returns', async () => {
    let checked = 0;
    for (const result of results.values()) {
      for (const finding of result.findings) {
        expect(finding.evidence.length).toBeGreaterThan(0);
        for (const evidence of finding.evidence) {
          expect(evidence.row_keys.length).toBeGreaterThan(0);
          const step = result.steps.find((s) => s.name === evidence.step)!;
          expect(evidence.sql_hash).toBe(step.sql_hash);
          const stored = JSON.parse(JSON.stringify(evidence));
          expect(await verifyEvidence(stored, warehouse)).toMatchObject({ missing: [] });
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('record every step with its cost, lineage and freshness, and never personal data', () => {
    for (const [key, result] of results) {
      const demo = truth.demo_subjects.find((d) => d.key === key)!;
      for (const step of result.steps) {
        expect(step).toMatchObject({ status: 'ok', sql_hash: expect.stringMatching(/^[0-9a-f]{64}$/), estimated_bytes: expect.any(Number), bytes_processed: null });
        expect(Object.keys(step.freshness).sort()).toEqual([...step.tables].sort());
        if (['email', 'ip', 'card_fingerprint'].includes(demo.subject.type)) expect(JSON.stringify(step.params)).not.toContain(demo.subject.value);
      }
      for (const f of result.findings) {
        expect(FINDING_TYPES).toContain(f.type);
        for (const text of [f.title, f.summary]) {
          expect(redactText(text)).toBe(text);
          expect(text).not.toMatch(/fp_|dev_|@/);
        }
      }
      expect(redactText(result.summary)).toBe(result.summary);
    }
    const usage = results.get('clean')!.steps.find((s) => s.name === 'usage_summary')!;
    expect(usage.freshness.fct_tts_usage! < NOW.toISOString()).toBe(true);
  });
});

describe('investigations against the ground truth', () => {
  it('find exactly the expected patterns on every planted account and nothing on clean ones', async () => {
    const planted = Object.keys(truth.accounts);
    const clean = (await warehouse.query<{ user_id: string }>({ label: 'users', sql: 'SELECT user_id FROM {{dim_users}} ORDER BY user_id', params: {} })).rows
      .map((r) => r.user_id)
      .filter((id) => !truth.accounts[id])
      .slice(0, 30);
    const mismatches: unknown[] = [];
    for (const id of [...planted, ...clean]) {
      const result = await investigate({ type: 'user_id', value: id });
      const expected = truth.accounts[id] ?? [];
      if (JSON.stringify(types(result)) !== JSON.stringify(expected)) mismatches.push({ id, expected, got: types(result) });
    }
    expect(mismatches).toEqual([]);
  });

  it('only sees a spike inside the requested window', async () => {
    expect(types(await investigate({ type: 'email', value: 'spiky.user@example.com' }, 30))).toEqual(['usage_anomaly']);
    expect(types(await investigate({ type: 'email', value: 'spiky.user@example.com' }, 3))).toEqual([]);
  });

  it('is deterministic: the same subject gives the same findings and ids', async () => {
    const a = await investigate({ type: 'ip', value: '203.0.113.77' });
    const b = await investigate({ type: 'ip', value: '203.0.113.77' });
    expect(b.findings).toEqual(a.findings);
    expect(b.summary).toBe(a.summary);
    expect(a.steps[0]!.params).toMatchObject({ ip: '203.0.*.*' });
  });
});

describe('running an investigation', () => {
  it('reports each step as it finishes, in order', async () => {
    const seen: StepRecord[] = [];
    const result = await runInvestigation({ subject: { type: 'email', value: 'ban.evader@example.com' }, windowDays: 30, now: NOW }, warehouse, {
      onStep: async (s) => {
        seen.push(s);
      },
    });
    expect(seen.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen).toEqual(result.steps);
  });

  it('stops when told to, and does not call the partial result clean', async () => {
    let asked = 0;
    const result = await runInvestigation({ subject: { type: 'email', value: 'clean.user@example.com' }, windowDays: 30, now: NOW }, warehouse, {
      shouldContinue: async () => ++asked < 2,
    });
    expect(result.steps.map((s) => s.name)).toEqual(['resolve_email', 'account_profile']);
    expect(result.summary).toMatch(/stopped/);
    expect(result.recommended_action.action).toBe('monitor');
  });

  it('records a failed step, runs the others, and says the result is incomplete', async () => {
    const failing: Warehouse = {
      kind: 'duckdb',
      query: (q) => (q.label === 'payment_history' ? Promise.reject(new WarehouseQueryError(q.label, 'injected failure')) : warehouse.query(q)),
      ping: () => warehouse.ping(),
      close: async () => undefined,
    };
    const result = await investigate({ type: 'email', value: 'payment.risk@example.com' }, 30, failing);
    const failed = result.steps.find((s) => s.name === 'payment_history')!;
    expect(failed).toMatchObject({ status: 'failed', rows: 0, error: 'Query "payment_history" failed: injected failure.' });
    expect(result.steps.filter((s) => s.status === 'ok')).toHaveLength(6);
    expect(result.findings.map((f) => f.type)).not.toContain('payment_risk');
    expect(result.summary).toMatch(/Incomplete: payment_history failed/);
    expect(result.recommended_action.action).not.toBe('none');
  });

  it('fails the run when the subject cannot be resolved, after reporting the failed step', async () => {
    const down: Warehouse = { kind: 'duckdb', query: () => Promise.reject(new WarehouseQueryError('resolve_email', 'down')), ping: async () => undefined, close: async () => undefined };
    const seen: StepRecord[] = [];
    await expect(
      runInvestigation({ subject: { type: 'email', value: 'clean.user@example.com' }, windowDays: 30, now: NOW }, down, { onStep: async (s) => void seen.push(s) }),
    ).rejects.toBeInstanceOf(WarehouseQueryError);
    expect(seen).toMatchObject([{ name: 'resolve_email', status: 'failed' }]);
  });
});
