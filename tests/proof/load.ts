/**
 * Proof suite "load" (issue 12.4): many concurrent clients of different roles and teams mix
 * create / read / list / comment against one local stack; about 10% of writes are sent twice
 * with the same Idempotency-Key. Afterwards every accepted write must be readable, no key may
 * have two effects, and after a reconcile every investigation must end.
 *
 *   npm run proof:load                                  # CI size: 20 clients × 15 s
 *   PROOF_CLIENTS=50 PROOF_SECONDS=60 npm run proof:load # the size issue 12 asks for
 *
 * The per-principal route limits (TSI_RATE_*_PER_MINUTE) are raised for this stack: the suite
 * measures the platform under concurrency, not the limiter (which has its own e2e test). 429s
 * would still be counted (`rate_limited=`) and are not failures.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_ROLE_BINDINGS } from '../../shared/auth/bindings.js';
import { canSeeInvestigation } from '../../shared/auth/policy.js';
import { call, envInt, Figures, globalTimeout, pick, prng, sleep, startProofStack, TERMINAL, tokenFor, type Answer } from './common.js';

const CLIENTS = envInt('PROOF_CLIENTS', 20);
const SECONDS = envInt('PROOF_SECONDS', 15);
const SEED = envInt('PROOF_SEED', Date.now() % 1_000_000);
const SETTLE_SECONDS = 60;
const figures = new Figures('load');
globalTimeout(figures, SECONDS + SETTLE_SECONDS + 120);

interface Created {
  id: string;
  creator: string;
  team: string | null;
  sensitivity: 'standard' | 'restricted';
}
interface Commented {
  id: string;
  investigation: string;
  key: string;
  marker: string;
}

const WRITERS = ['analyst@example.com', 'analyst2@example.com', 'lead@example.com'];
const READERS = ['viewer@example.com', 'compliance@example.com'];
const binding = (email: string) => LOCAL_ROLE_BINDINGS.find((b) => b.email === email)!;
const sees = (email: string, inv: Created) => {
  const b = binding(email);
  return canSeeInvestigation({ principal: email, roles: b.roles, team: b.team }, { created_by: inv.creator, assignee: null, team: inv.team, sensitivity: inv.sensitivity });
};
const isProblem = (res: Answer, type: string) => typeof res.body?.type === 'string' && res.body.type.endsWith(type);

/** Latency figures for the report (not invariants: timings are machine-dependent). */
function percentiles(ms: number[]): Record<string, number> {
  const sorted = ms.slice().sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50_ms: at(0.5), p99_ms: at(0.99), max_ms: sorted[sorted.length - 1] ?? 0 };
}

async function main(): Promise<void> {
  process.stdout.write(`proof load: ${CLIENTS} clients × ${SECONDS} s, seed ${SEED}\n`);
  const proof = await startProofStack('load', {
    TSI_RATE_CREATE_PER_MINUTE: '10000',
    TSI_RATE_WRITE_PER_MINUTE: '100000',
    TSI_RATE_EXPENSIVE_READ_PER_MINUTE: '100000',
    TSI_RATE_QUERY_PER_MINUTE: '100000',
  });
  const base = proof.url;
  const tokens: Record<string, string> = {};
  for (const b of LOCAL_ROLE_BINDINGS) tokens[b.email] = await tokenFor(base, b.email);

  // A third of the creates name the warehouse's demo subjects (accounts with findings: runs of several steps).
  const truth = JSON.parse(readFileSync(join(proof.dataDir, 'warehouse', 'ground-truth.json'), 'utf8')) as { demo_subjects: { subject: { type: string; value: string } }[] };
  const demoSubjects = truth.demo_subjects.map((d) => d.subject);
  const created: Created[] = [];
  const comments: Commented[] = [];
  let rateLimited = 0;
  let replays = 0;
  let inProgress = 0;
  const latencies: number[] = [];
  const slowest: { took: number; what: string }[] = [];
  const loadStart = Date.now();
  const deadline = loadStart + SECONDS * 1000;

  const send = async (email: string, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}, how = '') => {
    const started = Date.now();
    const res = await call(base, method, path, { token: tokens[email]!, ...opts });
    const took = Date.now() - started;
    latencies.push(took);
    const key = opts.headers?.['idempotency-key'];
    slowest.push({ took, what: `${method} ${path} as ${email}${key ? ` (${how || 'sent once'})` : ''} -> ${res.status} at t+${Math.round((started - loadStart) / 1000)} s` });
    if (slowest.length > 50) slowest.sort((a, b) => b.took - a.took).splice(5);
    figures.count(method, path, res, `${email}${key ? `, key ${key}${how ? ` ${how}` : ''}` : ''}, after ${Date.now() - started} ms at t+${Math.round((started - loadStart) / 1000)} s`);
    if (res.status === 429) {
      rateLimited++;
      const after = Math.min(2, Number(res.headers.get('retry-after') ?? 1) || 1);
      await sleep(after * 1000);
    }
    return res;
  };

  /** A write sent once, or (retry) twice with one key — sequentially or at the same time. */
  const write = async (email: string, path: string, body: unknown, retry: boolean, rand: () => number): Promise<Answer | null> => {
    const key = randomUUID();
    const headers = { 'idempotency-key': key };
    if (!retry) return send(email, 'POST', path, { body, headers });
    const both = rand() < 0.5
      ? await Promise.all([send(email, 'POST', path, { body, headers }, 'sent twice at once'), send(email, 'POST', path, { body, headers }, 'sent twice at once')])
      : [await send(email, 'POST', path, { body, headers }, 'first of two'), await send(email, 'POST', path, { body, headers }, 'second of two')];
    const ok = both.filter((r) => r.status >= 200 && r.status < 300);
    for (const r of both) {
      if (r.status === 409 && isProblem(r, 'idempotency-key-in-progress')) inProgress++;
      else if (r.status >= 300 && r.status !== 429) figures.fail(`retried write ${path} key ${key}: unexpected ${r.status} ${r.text.slice(0, 200)}`);
    }
    if (ok.length === 2) {
      replays++;
      if (ok[0]!.body?.id !== ok[1]!.body?.id) {
        figures.duplicated++;
        figures.fail(`same Idempotency-Key ${key} on ${path} gave two effects: ${ok[0]!.body?.id} and ${ok[1]!.body?.id}`);
      }
    }
    return ok[0] ?? both[0]!;
  };

  const client = async (n: number) => {
    const rand = prng(SEED * 1000 + n);
    const email = n % 5 === 4 ? READERS[n % 2]! : WRITERS[n % WRITERS.length]!;
    const isWriter = WRITERS.includes(email);
    while (Date.now() < deadline) {
      const roll = rand();
      const visible = created.filter((c) => sees(email, c));
      if (isWriter && roll < 0.12) {
        const sensitivity = rand() < 0.3 ? 'restricted' : 'standard';
        const retry = rand() < 0.1;
        const subject = rand() < 0.33 ? pick(rand, demoSubjects) : { type: 'user_id', value: `u_load_${n}_${Math.floor(rand() * 1e9)}` };
        const body = { subject, window_days: 30, sensitivity };
        const res = await write(email, '/v1/investigations', body, retry, rand);
        if (res && (res.status === 201 || res.status === 202 || res.status === 200) && typeof res.body?.id === 'string') {
          created.push({ id: res.body.id, creator: email, team: binding(email).team, sensitivity });
        } else if (res && res.status !== 429 && res.status !== 409) figures.fail(`create by ${email}: ${res.status} ${res.text.slice(0, 200)}`);
      } else if (isWriter && roll < 0.35 && visible.length) {
        const inv = pick(rand, visible);
        const marker = `m-${randomUUID()}`;
        const res = await write(email, `/v1/investigations/${inv.id}/comments`, { body: `load comment ${marker}` }, rand() < 0.1, rand);
        if (res && res.status === 201 && typeof res.body?.id === 'string') comments.push({ id: res.body.id, investigation: inv.id, key: marker, marker });
        else if (res && res.status !== 429 && res.status !== 409) figures.fail(`comment by ${email} on ${inv.id}: ${res.status} ${res.text.slice(0, 200)}`);
      } else if (roll < 0.75 && created.length) {
        const inv = pick(rand, created);
        const res = await send(email, 'GET', `/v1/investigations/${inv.id}`);
        const expected = sees(email, inv) ? 200 : 404;
        if (res.status !== 429 && res.status !== expected) figures.fail(`read ${inv.id} (${inv.sensitivity}, by ${inv.creator}) as ${email}: ${res.status}, expected ${expected}`);
      } else {
        const res = await send(email, 'GET', `/v1/investigations?page_size=${1 + Math.floor(rand() * 50)}`);
        if (res.status === 200) {
          for (const item of res.body?.items ?? []) {
            const known = created.find((c) => c.id === item.id);
            if (known && !sees(email, known)) figures.fail(`list as ${email} shows ${known.id} (${known.sensitivity}, by ${known.creator}) it must not`);
          }
        } else if (res.status !== 429) figures.fail(`list as ${email}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
  const loadRequests = figures.requests;

  // Every accepted investigation is readable by its creator; per creator, the list holds exactly the accepted ones.
  for (const inv of created) {
    const res = await call(base, 'GET', `/v1/investigations/${inv.id}`, { token: tokens[inv.creator]! });
    if (res.status !== 200) {
      figures.lost++;
      figures.fail(`accepted investigation ${inv.id} by ${inv.creator} not readable: ${res.status}`);
    }
  }
  for (const email of WRITERS) {
    const listed = new Map<string, number>();
    let token: string | null | undefined;
    do {
      const q = `/v1/investigations?created_by=${encodeURIComponent(email)}&page_size=100${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
      const res = await call(base, 'GET', q, { token: tokens[email]! });
      if (res.status !== 200) {
        figures.fail(`listing ${email}'s investigations: ${res.status} ${res.text.slice(0, 200)}`);
        break;
      }
      for (const item of res.body.items) listed.set(item.id, (listed.get(item.id) ?? 0) + 1);
      token = res.body.next_page_token;
    } while (token);
    const mine = new Set(created.filter((c) => c.creator === email).map((c) => c.id));
    for (const [id, n] of listed) {
      if (!mine.has(id) || n > 1) {
        figures.duplicated++;
        figures.fail(`investigation ${id} by ${email} exists but no accepted answer created it (second effect of a retried key?)`);
      }
    }
    for (const id of mine) if (!listed.has(id)) {
      figures.lost++;
      figures.fail(`accepted investigation ${id} by ${email} missing from their list`);
    }
  }
  // Every accepted comment is listed once; no marker (one per key) appears twice.
  const byInvestigation = new Map<string, Commented[]>();
  for (const c of comments) byInvestigation.set(c.investigation, [...(byInvestigation.get(c.investigation) ?? []), c]);
  for (const [id, mine] of byInvestigation) {
    const inv = created.find((c) => c.id === id)!;
    const res = await call(base, 'GET', `/v1/investigations/${id}/comments?page_size=100`, { token: tokens[inv.creator]! });
    const all: { id: string; body: string }[] = [];
    let page = res;
    for (;;) {
      if (page.status !== 200) {
        figures.fail(`listing comments of ${id}: ${page.status}`);
        break;
      }
      all.push(...page.body.items);
      if (!page.body.next_page_token) break;
      page = await call(base, 'GET', `/v1/investigations/${id}/comments?page_size=100&page_token=${encodeURIComponent(page.body.next_page_token)}`, { token: tokens[inv.creator]! });
    }
    for (const c of mine) {
      const hits = all.filter((x) => x.body.includes(c.marker));
      if (!all.some((x) => x.id === c.id)) {
        figures.lost++;
        figures.fail(`accepted comment ${c.id} on ${id} not listed`);
      }
      if (hits.length > 1) {
        figures.duplicated++;
        figures.fail(`comment ${c.marker} on ${id} stored ${hits.length} times`);
      }
    }
  }

  // Settle: one reconcile, then every investigation must reach a terminal state.
  await proof.stack.reconcileNow();
  const settleBy = Date.now() + SETTLE_SECONDS * 1000;
  let pending = created.slice();
  while (pending.length && Date.now() < settleBy) {
    const still: Created[] = [];
    for (const inv of pending) {
      const res = await call(base, 'GET', `/v1/investigations/${inv.id}`, { token: tokens[inv.creator]! });
      if (!(res.status === 200 && (TERMINAL as readonly string[]).includes(res.body.status))) still.push(inv);
    }
    pending = still;
    if (pending.length) await sleep(500);
  }
  for (const inv of pending) {
    figures.stuck++;
    const res = await call(base, 'GET', `/v1/investigations/${inv.id}`, { token: tokens[inv.creator]! });
    figures.fail(`investigation ${inv.id} still ${res.body?.status ?? res.status} ${SETTLE_SECONDS} s after the load`);
  }
  const completed = created.length - pending.length;
  await proof.stop();
  figures.requests = loadRequests;
  process.stdout.write('slowest answers:\n' + slowest.sort((a, b) => b.took - a.took).slice(0, 5).map((x) => `  ${x.took} ms: ${x.what}\n`).join(''));
  Object.assign(figures.extra, {
    clients: CLIENTS,
    seconds: SECONDS,
    seed: SEED,
    investigations: created.length,
    comments: comments.length,
    settled: completed,
    retried_keys_replayed: replays,
    retried_keys_in_progress: inProgress,
    rate_limited: rateLimited,
    rps: Math.round(loadRequests / SECONDS),
    ...percentiles(latencies),
  });
  figures.finish();
}

main().catch((error) => {
  figures.fail(`suite error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  figures.finish();
});
