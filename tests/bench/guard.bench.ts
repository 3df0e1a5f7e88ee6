import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInvestigation } from '../../shared/agent/run.js';
import { compileQuery } from '../../shared/guard/compile.js';
import { createGuardedWarehouse, DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { CONTRACT, type TableName } from '../../shared/warehouse/contract.js';
import { createDuckDbEngine } from '../../shared/warehouse/duckdb.js';
import type { GroundTruth } from '../../shared/warehouse/generator.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/index.js';

/**
 * The warehouse guard's cost and effect, on a generated local warehouse (2,000 accounts):
 * - added latency per query: guarded (parse, rules, estimate, slot, lineage; cache off) against
 *   running the same translated SQL on the engine directly, same run, median of many;
 * - cache hit latency against the guarded miss;
 * - bytes the guarded agent reads for a subject investigation against a naive unguarded
 *   equivalent (SELECT * over the full tables the agent touches), both priced by the same
 *   local estimator.
 */
const NOW = new Date();
const LEAD = { principal: 'bench@example.com', roles: ['lead'] };
const logger = new Logger({}, () => undefined, 'ERROR');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return median(out);
}

export async function run(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tsi-bench-guard-'));
  try {
    await ensureLocalWarehouse({ dataDir, users: 2000, seed: 42, logger, clock: new ManualClock(NOW) });
    const truth: GroundTruth = JSON.parse(readFileSync(localWarehousePaths(dataDir).groundTruth, 'utf8'));
    const engine = createDuckDbEngine({ file: localWarehousePaths(dataDir).file, logger });
    const settings = { ...DEFAULT_GUARD_SETTINGS, budgetBytesByRole: { lead: 1e15, service: 1e15 } };
    const uncached = createGuardedWarehouse({ engine, settings: { ...settings, cacheEntries: 0 }, clock: new ManualClock(NOW), logger, audit: null });
    const cached = createGuardedWarehouse({ engine, settings, clock: new ManualClock(NOW), logger, audit: null });

    const query = {
      label: 'bench',
      sql: `SELECT user_id, CAST(event_ts AS DATE) AS day, COUNT(*) AS requests, SUM(characters) AS chars
            FROM fct_tts_usage WHERE event_ts >= @since AND event_ts < @until AND user_id IN UNNEST(@ids)
            GROUP BY user_id, day ORDER BY user_id, day`,
      params: { since: new Date(NOW.getTime() - 30 * 86_400_000), until: NOW, ids: truth.demo_subjects.flatMap((d) => d.user_ids).slice(0, 10) },
      actor: LEAD,
    };
    const compiled = compileQuery({ sql: query.sql, params: query.params, actor: LEAD, origin: 'planned', policy: settings, now: NOW });
    const direct = { label: 'bench', sql: compiled.render({ kind: 'duckdb', now: NOW }, 10_001), params: compiled.params, scans: compiled.scans, maxRows: 10_000, maxBytesBilled: 1e15, timeoutMs: 60_000 };

    const N = 40;
    await engine.run(direct); // warm-up: open file, stats, range counts
    await uncached.query(query);
    const tDirect = await time(N, () => engine.run(direct));
    const tGuarded = await time(N, () => uncached.query(query));
    await cached.query(query);
    const tHit = await time(N, () => cached.query(query));
    console.log('guard: latency per query (median of %d, local DuckDB, 2,000 accounts)', N);
    console.log('  direct engine            %s ms', tDirect.toFixed(2));
    console.log('  guarded (cache off)      %s ms   ratio %sx   (+%s ms: parse, rules, estimate, lineage)', tGuarded.toFixed(2), (tGuarded / tDirect).toFixed(2), (tGuarded - tDirect).toFixed(2));
    console.log('  guarded cache hit        %s ms   ratio %sx of direct', tHit.toFixed(3), (tHit / tDirect).toFixed(3));

    // Bytes: the guarded agent's steps against SELECT * over every table it touched, unfiltered.
    const subject = truth.demo_subjects.find((d) => d.key === 'ban_evader') ?? truth.demo_subjects[0]!;
    const result = await runInvestigation({ subject: subject.subject, windowDays: 30, now: NOW }, uncached, {}, { clock: new ManualClock(NOW), actor: LEAD });
    const guardedBytes = result.steps.reduce((sum, s) => sum + (s.lineage?.estimated_bytes ?? s.estimated_bytes), 0);
    const touched = [...new Set(result.steps.flatMap((s) => s.tables))] as TableName[];
    let naiveBytes = 0;
    for (const step of result.steps) {
      for (const table of step.tables as TableName[]) {
        naiveBytes += await engine.estimate({ label: 'naive', sql: '', params: {}, scans: [{ table, columns: CONTRACT[table].columns.map((c) => c.name), from: null, to: null }] });
      }
    }
    console.log('guard: bytes read for one subject investigation (%s, %d steps, tables %s)', subject.key, result.steps.length, touched.join(', '));
    console.log('  guarded agent            %s bytes', guardedBytes.toLocaleString('en-US'));
    console.log('  naive SELECT * per step  %s bytes   (%sx the guarded agent)', naiveBytes.toLocaleString('en-US'), (naiveBytes / Math.max(1, guardedBytes)).toFixed(1));
    await engine.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
