/**
 * Proof suite "bola" (issue 12.4): every route of the api function that addresses a resource by
 * a path parameter × every principal that must not see or act on a foreign resource × that
 * resource's id. The routes come from `apiRoutes()`, so a new route is covered the day it exists.
 *
 * A request fails the suite when it answers 2xx (acted on or revealed a resource the caller may
 * not see), 5xx, or answers differently from the same request on a random id of the same shape
 * that does not exist (`leaks=`: the answer tells the caller the resource exists).
 *
 *   npm run proof:bola
 */
import { createServer } from 'node:http';
import { LOCAL_ROLE_BINDINGS } from '../../shared/auth/bindings.js';
import { WEBHOOK_EVENT_TYPES } from '../../shared/events/catalogue.js';
import type { Route } from '../../shared/platform/http.js';
import { call, envInt, Figures, globalTimeout, prng, startProofStack, tokenFor } from './common.js';

const figures = new Figures('bola');
globalTimeout(figures, envInt('PROOF_TIMEOUT_SECONDS', 150));
const SEED = envInt('PROOF_SEED', 12);

type Principal = (typeof LOCAL_ROLE_BINDINGS)[number]['email'];
const ALL: Principal[] = LOCAL_ROLE_BINDINGS.map((b) => b.email);

/**
 * Who may legitimately see / act on each foreign resource, read from shared/auth/policy.ts
 * (ROLE_PERMISSIONS and canSeeInvestigation). Everyone else is an attacker for that resource and
 * must get 4xx, the same 4xx a missing resource gets.
 */
const EXPECTATIONS: { kind: string; mayAct: Principal[]; why: string }[] = [
  { kind: 'restricted investigation (analyst, team trust)', mayAct: ['analyst@example.com', 'lead@example.com'], why: 'creator; lead holds investigations.read_all_restricted. analyst2 (team fraud), viewer, compliance and admin cannot see it (canSeeInvestigation).' },
  { kind: 'comment on that investigation', mayAct: ['analyst@example.com', 'lead@example.com'], why: 'a comment is seen through its investigation' },
  { kind: 'webhook (admin)', mayAct: ['admin@example.com'], why: 'webhooks.manage is admin only' },
  { kind: 'legal hold (compliance)', mayAct: ['compliance@example.com'], why: 'legal_holds.* is compliance only' },
  { kind: 'erasure request (compliance)', mayAct: ['compliance@example.com'], why: 'erasure.* is compliance only' },
  { kind: 'role binding of analyst', mayAct: ['admin@example.com', 'compliance@example.com'], why: 'roles.read: admin, compliance; roles.write: admin' },
  { kind: 'feature flag adhoc_sql', mayAct: ['admin@example.com', 'lead@example.com'], why: 'flags.read: lead, admin; flags.write: admin' },
];

/** A minimal valid body per route, so the request gets past validation to the access check. */
const BODIES: Record<string, unknown> = {
  'POST /v1/investigations/{id}:cancel': {},
  'POST /v1/investigations/{id}:assign': { assignee: 'analyst2@example.com' },
  'POST /v1/investigations/{id}:close': { decision: 'no_action', rationale: 'bola probe' },
  'POST /v1/investigations/{id}:reopen': {},
  'POST /v1/investigations/{id}/comments': { body: 'bola probe' },
  'POST /v1/investigations/{id}/queries': { sql: 'SELECT user_id FROM dim_users LIMIT 1' },
  'DELETE /v1/investigations/{id}': { reason: 'bola probe' },
  'PATCH /v1/webhooks/{id}': { description: 'bola probe' },
  'POST /v1/webhooks/{id}:rotate-secret': {},
  'POST /v1/webhooks/dead-letters/{id}:replay': {},
  'POST /v1/legal-holds/{id}:release': { reason: 'bola probe' },
  'POST /v1/erasure-requests/{id}:extend': { reason: 'bola probe: too many requests this month' },
  'PUT /v1/role-bindings/{email}': { roles: ['admin'], team: null },
  'PUT /v1/flags/{name}': { enabled: true, reason: 'bola probe' },
};

/** A missing id of the same shape (same prefix and length) as a real one. */
function lookalike(id: string, rand: () => number): string {
  if (id.includes('@')) return `nobody${Math.floor(rand() * 1e6)}@example.com`;
  const cut = id.lastIndexOf('_') + 1;
  const alphabet = id.slice(cut).match(/[a-z]/) ? '0123456789abcdefghjkmnpqrstvwxyz' : '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let tail = '';
  for (let i = cut; i < id.length; i++) tail += alphabet[Math.floor(rand() * alphabet.length)];
  return id.slice(0, cut) + tail;
}

async function main(): Promise<void> {
  const proof = await startProofStack('bola', {
    TSI_RATE_CREATE_PER_MINUTE: '10000',
    TSI_RATE_WRITE_PER_MINUTE: '100000',
    TSI_RATE_EXPENSIVE_READ_PER_MINUTE: '100000',
    TSI_RATE_QUERY_PER_MINUTE: '100000',
  });
  const base = proof.url;
  // The webhook's destination: a loopback receiver (local mode allows loopback destinations).
  const hooks = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', () => r()));
  const hookAddress = hooks.address();
  const hookUrl = `http://127.0.0.1:${typeof hookAddress === 'object' && hookAddress ? hookAddress.port : 0}/hook`;
  // The stack has imported the api function already; this is the same route table it serves.
  const { apiRoutes } = await import('../../functions/api/index.js');
  const routes: Route[] = apiRoutes(proof.stack.runtime).filter((r) => r.path.includes('{'));
  const tokens: Record<string, string> = {};
  for (const email of ALL) tokens[email] = await tokenFor(base, email);

  const setup = async (email: Principal, path: string, body: unknown, what: string): Promise<string> => {
    const res = await call(base, 'POST', path, { token: tokens[email]!, body });
    if (res.status < 200 || res.status >= 300 || typeof res.body?.id !== 'string') throw new Error(`setup: ${what} by ${email}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.body.id as string;
  };
  const investigation = await setup('analyst@example.com', '/v1/investigations', { subject: { type: 'user_id', value: 'u_bola_restricted' }, sensitivity: 'restricted' }, 'restricted investigation');
  const comment = await setup('analyst@example.com', `/v1/investigations/${investigation}/comments`, { body: 'restricted note' }, 'comment');
  const webhook = await setup('admin@example.com', '/v1/webhooks', { url: hookUrl, event_types: [WEBHOOK_EVENT_TYPES[0]] }, 'webhook');
  const hold = await setup('compliance@example.com', '/v1/legal-holds', { subject: { type: 'user_id', value: 'u_bola_hold' }, reason: 'bola probe', matter: 'bola' }, 'legal hold');
  const erasure = await setup('compliance@example.com', '/v1/erasure-requests', { subject: { type: 'email', value: 'bola.subject@example.com' } }, 'erasure request');
  const ids: Record<string, string> = {
    [EXPECTATIONS[0]!.kind]: investigation,
    [EXPECTATIONS[1]!.kind]: comment,
    [EXPECTATIONS[2]!.kind]: webhook,
    [EXPECTATIONS[3]!.kind]: hold,
    [EXPECTATIONS[4]!.kind]: erasure,
    [EXPECTATIONS[5]!.kind]: 'analyst@example.com',
    [EXPECTATIONS[6]!.kind]: 'adhoc_sql',
  };

  const rand = prng(SEED);
  const statuses = new Map<number, number>();
  let cells = 0;
  let leaks = 0;
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const body = BODIES[key] ?? (route.request?.body && route.method !== 'GET' && route.method !== 'DELETE' ? {} : undefined);
    const fill = (value: string) => route.path.replace(/\{[^}]+\}/g, encodeURIComponent(value));
    for (const expectation of EXPECTATIONS) {
      const id = ids[expectation.kind]!;
      const control = expectation.kind.startsWith('feature flag') ? 'no_such_flag' : lookalike(id, rand);
      for (const attacker of ALL.filter((p) => !expectation.mayAct.includes(p))) {
        cells++;
        const opts = { token: tokens[attacker]!, ...(body !== undefined ? { body } : {}) };
        const missing = await call(base, route.method, fill(control), opts);
        const res = await call(base, route.method, fill(id), opts);
        figures.count(route.method, fill(control), missing, `${attacker}, missing-id control`);
        figures.count(route.method, fill(id), res, `${attacker} on ${expectation.kind}`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 200 && res.status < 300) {
          figures.fail(`${attacker} got ${res.status} on ${route.method} ${fill(id)} (${expectation.kind}; may act: ${expectation.mayAct.join(', ')}): ${res.text.slice(0, 200)}`);
        } else if (res.status < 500 && missing.status < 500 && res.status !== missing.status) {
          leaks++;
          figures.fail(`${attacker} on ${route.method} ${route.path} (${expectation.kind}): ${res.status} for the real id but ${missing.status} for a missing one — the answer reveals the resource`);
        }
      }
    }
  }
  await proof.stop();
  hooks.close();
  Object.assign(figures.extra, {
    routes: routes.length,
    resources: EXPECTATIONS.length,
    principals: ALL.length,
    matrix: cells,
    leaks,
    statuses: [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(','),
  });
  figures.finish();
}

main().catch((error) => {
  figures.fail(`suite error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  figures.finish();
});
