import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentResult } from '../../shared/agent/model.js';
import { runInvestigation } from '../../shared/agent/run.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { loadConfig } from '../../shared/platform/config.js';
import { Logger } from '../../shared/platform/logger.js';
import { writeWarehouseFolder, type GroundTruth, type PatternName } from '../../shared/warehouse/generator.js';
import { createWarehouse, loadLocalWarehouseFromFolder } from '../../shared/warehouse/index.js';

/**
 * Recall and false findings, measured: a dataset generated with a seed other than the demo's (42),
 * written to a folder and loaded with the loader `tsi warehouse load` uses, then every account the
 * ground truth lists is investigated, plus as many clean accounts (the negative controls first).
 * A planted pattern counts as found when the investigation of its account reports that finding
 * type (and, for moderation_escalation, escalates a finding).
 */
const SEED = 2024;
const USERS = 250;
const NOW = new Date('2026-03-01T12:00:00Z');
const logger = new Logger({}, () => undefined, 'ERROR');
const root = mkdtempSync(join(tmpdir(), 'tsi-recall-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('finds at least 95% of planted patterns on their accounts and nothing on clean accounts', async () => {
  const folder = join(root, 'generated');
  const { groundTruth: truth } = writeWarehouseFolder(folder, { users: USERS, seed: SEED, now: NOW });
  await loadLocalWarehouseFromFolder({ dataDir: join(root, 'data'), folder, logger });
  const clock = new ManualClock(NOW);
  const warehouse = createWarehouse(loadConfig({ TSI_DATA_DIR: join(root, 'data') }), { logger, clock, audit: null });

  const planted = Object.keys(truth.accounts).sort();
  const clean = cleanSample(truth, allUserIds(folder), planted.length);
  expect(clean).toHaveLength(planted.length);

  const results = new Map<string, AgentResult>();
  try {
    for (const id of [...planted, ...clean]) {
      results.set(id, await runInvestigation({ subject: { type: 'user_id', value: id }, windowDays: 30, now: NOW }, warehouse, {}, { clock }));
    }
  } finally {
    await warehouse.close();
  }

  const expected: { id: string; pattern: PatternName }[] = [
    ...planted.flatMap((id) => truth.accounts[id]!.map((pattern) => ({ id, pattern: pattern as PatternName }))),
    ...truth.patterns.moderation_escalation.map((id) => ({ id, pattern: 'moderation_escalation' as const })),
  ];
  const found = (id: string, pattern: PatternName) => {
    const r = results.get(id)!;
    return pattern === 'moderation_escalation' ? r.findings.some((f) => f.escalate) : r.findings.some((f) => f.type === pattern);
  };
  const missed = expected.filter((e) => !found(e.id, e.pattern));
  const falseFindings = clean.flatMap((id) => results.get(id)!.findings.map((f) => ({ id, type: f.type })));
  const extra = planted.flatMap((id) => results.get(id)!.findings.filter((f) => !truth.accounts[id]!.includes(f.type as never)).map((f) => ({ id, type: f.type })));
  const recall = (expected.length - missed.length) / expected.length;

  const perPattern = [...new Set(expected.map((e) => e.pattern))]
    .map((p) => `${p} ${expected.filter((e) => e.pattern === p && found(e.id, e.pattern)).length}/${expected.filter((e) => e.pattern === p).length}`)
    .join(', ');
  process.stdout.write(
    [
      '',
      `Agent recall on generated data (seed ${SEED}, ${USERS} accounts, ${truth.demo_subjects.length} demo subjects among them)`,
      `  planted patterns found   ${expected.length - missed.length}/${expected.length} = ${(100 * recall).toFixed(1)}% on ${planted.length} accounts`,
      `  per pattern              ${perPattern}`,
      `  false findings           ${falseFindings.length} finding(s) on ${new Set(falseFindings.map((f) => f.id)).size} of ${clean.length} clean accounts (${truth.negative_controls.length} negative controls among them)`,
      `  unexpected extra types   ${extra.length} on planted accounts`,
      ...(missed.length ? [`  missed                   ${missed.map((m) => `${m.id}:${m.pattern}`).join(', ')}`] : []),
      '',
    ].join('\n') + '\n',
  );

  expect(recall).toBeGreaterThanOrEqual(0.95);
  expect(falseFindings).toEqual([]);
});

function allUserIds(folder: string): string[] {
  // The generator writes user_id first and never quotes it.
  return readFileSync(join(folder, 'dim_users.csv'), 'utf8').split('\n').slice(1).filter(Boolean).map((line) => line.slice(0, line.indexOf(',')));
}

/** The negative controls (clean look-alikes), then accounts spread evenly over the rest. */
function cleanSample(truth: GroundTruth, users: string[], count: number): string[] {
  const controls = truth.negative_controls.map((n) => n.user_id).filter((id) => !truth.accounts[id]);
  const rest = users.filter((id) => !truth.accounts[id] && !controls.includes(id)).sort();
  const need = Math.min(count - controls.length, rest.length);
  const step = rest.length / need;
  return [...controls, ...Array.from({ length: need }, (_, i) => rest[Math.floor(i * step)]!)];
}
