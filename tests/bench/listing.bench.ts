import { startTestStack, waitFor, type TestStack } from '../e2e/harness.js';
import * as life from '../../shared/investigations/lifecycle.js';
import { responseObservers } from '../../shared/api/observe.js';

/**
 * Listing investigations (issue 17.6): a page of 100 against a single-document read, both through
 * the API of the real local stack, measured in the same run. The goal is list-100 ≤ 2× one read.
 * Seeded with finished investigations (steps, findings, history — the documents a list really
 * reads), each about its own subject, so every item has its own data key to unwrap.
 * BENCH_LIST_ITEMS=150 and BENCH_REPEATS=15 override the defaults.
 */
const ITEMS = Number(process.env.BENCH_LIST_ITEMS ?? 150);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);

const out = (line = '') => process.stdout.write(line + '\n');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timed(stack: TestStack, path: string, token: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return performance.now() - t0;
}

/** One investigation run for real, then `n` more stored like it (same steps and findings, each its own subject). */
async function seed(stack: TestStack, analyst: string, n: number): Promise<string> {
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'ring.member@example.com' } } });
  const template = await waitFor(stack, created.body.id, analyst, ['completed'], 120_000);
  const finished = (await stack.runtime.store.get(template.id))!;
  for (let i = 0; i < n; i++) {
    const now = new Date();
    const { doc, events } = life.newInvestigation({ subject: { type: 'email', value: `bench.${i}@example.com` }, window_days: 30, sensitivity: 'standard' }, { email: 'analyst@example.com', team: 'trust' }, now);
    const { steps, findings, risk, recommended_action, summary, resolved_accounts } = finished;
    const full = { ...doc, status: 'completed' as const, steps, findings, risk, recommended_action, summary, resolved_accounts, history: [...doc.history, ...finished.history.slice(1)] };
    await stack.runtime.store.create(full, events, () => ({ status: 202, body: {} }));
  }
  return template.id;
}

export async function run(): Promise<void> {
  process.env.TSI_CONTRACT_SKIP = '1';
  const stack = await startTestStack();
  // The harness records every response for its contract check; production has no observer.
  responseObservers.clear();
  try {
    const analyst = await stack.token('analyst@example.com');
    const lead = await stack.token('lead@example.com');
    const one = await seed(stack, analyst, ITEMS);
    // Key caches expire after a minute in production; measure the cold page too (first request).
    const coldList = await timed(stack, '/v1/investigations?page_size=100', lead);
    for (let i = 0; i < 3; i++) {
      await timed(stack, `/v1/investigations/${one}`, lead);
      await timed(stack, '/v1/investigations?page_size=100', lead);
    }
    const reads: number[] = [];
    const lists: number[] = [];
    const analystLists: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      reads.push(await timed(stack, `/v1/investigations/${one}`, lead));
      lists.push(await timed(stack, '/v1/investigations?page_size=100', lead));
      analystLists.push(await timed(stack, '/v1/investigations?page_size=100', analyst));
    }
    const read = median(reads);
    out(`  ${ITEMS + 1} investigations stored; ${REPEATS} repeats, medians`);
    out(`  single read (lead, PII)          ${read.toFixed(1)} ms`);
    out(`  list 100 (lead, PII revealed)    ${median(lists).toFixed(1)} ms   ratio ${(median(lists) / read).toFixed(2)}×`);
    out(`  list 100 (analyst, masked)       ${median(analystLists).toFixed(1)} ms   ratio ${(median(analystLists) / read).toFixed(2)}×`);
    out(`  list 100, first request (cold)   ${coldList.toFixed(1)} ms   ratio ${(coldList / read).toFixed(2)}×`);
    out(`  goal: list-100 ≤ 2× single read → ${median(lists) / read <= 2 ? 'met' : 'NOT met'} (warm, PII reader)`);
  } finally {
    await stack.destroy();
  }
}
