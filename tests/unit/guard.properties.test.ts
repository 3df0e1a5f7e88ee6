import fc from 'fast-check';
import { compileQuery } from '../../shared/guard/compile.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { maxWindowDays } from '../../shared/guard/rules.js';
import { CONTRACT } from '../../shared/warehouse/contract.js';
import { ACTORS, build, NOW, specArb } from '../corpus/fragments.js';

/**
 * Property: random compositions of allowed fragments (tests/corpus/fragments.ts) are accepted
 * exactly when the independent model allows them, report exactly the tables, columns and time
 * window the model computes, and print for both engines a query that reads back as itself.
 * Runs: GUARD_PROPERTY_RUNS (default 300); GUARD_PROPERTY_SEED replays a run.
 */
const RUNS = Number(process.env.GUARD_PROPERTY_RUNS ?? 300);

describe('random compositions of allowed fragments', () => {
  it(`are accepted exactly when the model allows them, and then report what the model reads (${RUNS} runs)`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(specArb, (spec) => {
        const m = build(spec);
        const c = compileQuery({ sql: m.sql, params: {}, actor: ACTORS[spec.actor], origin: 'adhoc', policy: DEFAULT_GUARD_SETTINGS, now: NOW });
        expect({ sql: m.sql, rule: c.refusals[0]?.rule ?? null }).toEqual({ sql: m.sql, rule: m.expected });
        // Whatever is refused or accepted, what the guard says is read is what the fragments read.
        const modelColumns = Object.fromEntries([...m.reads].map(([t, cols]) => [t, [...cols].sort()]));
        expect(c.columns).toEqual(modelColumns);
        expect([...c.tables].sort()).toEqual([...m.reads.keys()].sort());
        if (m.expected !== null) return;
        accepted++;
        for (const t of c.tables) expect(Object.keys(CONTRACT)).toContain(t);
        const scan = c.scans.find((x) => x.table === spec.base)!;
        if (CONTRACT[spec.base].partitionColumn) {
          expect(scan.from?.getTime()).toBe(m.from);
          expect(scan.to?.getTime() ?? null).toBe(m.to);
          expect(m.windowDays!).toBeLessThanOrEqual(maxWindowDays(DEFAULT_GUARD_SETTINGS, spec.base));
        }
        // An accepted query prints for both engines, and the BigQuery print reads back as the same query.
        expect(c.render({ kind: 'duckdb', now: NOW }, 10)).toMatch(/^(WITH|SELECT) /);
        const printed = c.render({ kind: 'bigquery', table: (t) => t }, 10);
        const again = compileQuery({ sql: printed, params: {}, actor: ACTORS[spec.actor], origin: 'adhoc', policy: DEFAULT_GUARD_SETTINGS, now: NOW });
        expect({ refusals: again.refusals, columns: again.columns, scans: again.scans }).toEqual({ refusals: [], columns: c.columns, scans: c.scans });
        expect(again.render({ kind: 'bigquery', table: (t) => t }, 10)).toBe(printed);
      }),
      { numRuns: RUNS, seed: process.env.GUARD_PROPERTY_SEED ? Number(process.env.GUARD_PROPERTY_SEED) : undefined },
    );
    // The generator reaches both outcomes (a property that only ever refuses proves little).
    expect(accepted).toBeGreaterThan(RUNS / 20);
  });
});
