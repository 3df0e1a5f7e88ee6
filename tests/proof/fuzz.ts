/**
 * Proof suite "fuzz" (issue 12.4): requests generated from the served OpenAPI document — for each
 * operation valid-ish and broken bodies (wrong types, huge strings, deep nesting, unicode with
 * lone surrogates / RTL / zero-width, extra fields, nulls), hostile path ids, query parameters
 * and headers (content types, content encodings, If-Match / Idempotency-Key garbage, huge
 * headers), as different principals. Seeded: the seed is printed and PROOF_SEED replays a run.
 *
 * Invariants: no 5xx; every 4xx is application/problem+json with a `type`; no body carries a
 * stack trace or an internal path; afterwards /healthz and /readyz are 200 and a normal
 * create + read works.
 *
 *   npm run proof:fuzz                                  # CI size: 2,000 requests
 *   PROOF_REQUESTS=10000 PROOF_SEED=42 npm run proof:fuzz
 *
 * Route rate limits are raised for this stack so requests reach validation instead of 429.
 */
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { LOCAL_ROLE_BINDINGS } from '../../shared/auth/bindings.js';
import { call, envInt, Figures, globalTimeout, pick, pool, prng, startProofStack, tokenFor, type Answer } from './common.js';

const REQUESTS = envInt('PROOF_REQUESTS', 2000);
const SEED = envInt('PROOF_SEED', Date.now() % 1_000_000);
const CONCURRENCY = envInt('PROOF_CLIENTS', 8);
const figures = new Figures('fuzz');
globalTimeout(figures, envInt('PROOF_TIMEOUT_SECONDS', Math.max(120, Math.ceil(REQUESTS / 15))));

/** What must never appear in an answer: stack frames, internal paths, raw error names. */
const LEAKS: RegExp[] = [/\/work\//, /node_modules/, /\bat .+\.(ts|js):\d+/, /Error:/];
/** Documentation routes describe the API (and may legitimately contain such words); they are not scanned. */
const UNSCANNED = new Set(['/v1/openapi.json', '/v1/docs']);

type Json = any;
interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; required: boolean; schema: Json }[];
  body: Json | null;
}

const UNICODE = [
  '\uD800', // lone high surrogate
  '\uDC00x', // lone low surrogate
  '\u202Egnp.exe', // right-to-left override
  'a\u200Bb\u200Cc\u200Dd\uFEFF', // zero-width characters
  '\u0000nul',
  'ｅｍａｉｌ', // full-width
  'é\u0301', // combining
  '👩‍💻🏳️‍🌈',
  'ДЖ日本語',
  '\r\nX-Injected: 1',
];
const HOSTILE_IDS = ['%2F', '..', '%2E%2E', '%E0', '%', 'a'.repeat(300), '%C3%A9t%C3%A9', '__x__', '__proto__', 'constructor', '%00', '%252F', 'inv_%2F..%2Fx', '~', encodeURIComponent('\u202E'), '%F0%9F%98%80', 'null', '-1', '0', 'inv_01' + 'Z'.repeat(24)];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/problem+json', '', 'json', 'application/json;;;', 'a'.repeat(500)];
const ENCODINGS = ['gzip', 'br', 'xyz', 'deflate', 'identity', 'gzip, br', ''];
const GARBAGE = ['', ' ', '*', '"', 'W/"x"', '"' + 'x'.repeat(2000) + '"', '\u00ff\u00fe', 'null', '{"a":1}', '1'.repeat(300), 'a b c', '<script>'];

/** encodeURIComponent throws on lone surrogates; those go as the raw (invalid UTF-8) escape. */
function enc(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80' + encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, ''));
  }
}

function resolve(doc: Json, schema: Json): Json {
  let s = schema;
  for (let i = 0; s && s.$ref && i < 10; i++) s = doc.components?.schemas?.[s.$ref.replace('#/components/schemas/', '')] ?? {};
  return s ?? {};
}

/** A value that (mostly) satisfies the schema. */
function validish(doc: Json, schema: Json, rand: () => number, depth = 0): unknown {
  const s = resolve(doc, schema);
  if (depth > 6) return null;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return pick(rand, s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts) && alts.length) return validish(doc, pick(rand, alts), rand, depth + 1);
  if (Array.isArray(s.allOf) && s.allOf.length) return validish(doc, s.allOf[0], rand, depth + 1);
  const type = Array.isArray(s.type) ? pick(rand, s.type) : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set<string>(s.required ?? []);
      for (const [k, v] of Object.entries(s.properties ?? {})) if (required.has(k) || rand() < 0.5) out[k] = validish(doc, v, rand, depth + 1);
      return out;
    }
    case 'array': {
      const n = Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 3, 1 + Math.floor(rand() * 2)));
      return Array.from({ length: n }, () => validish(doc, s.items ?? {}, rand, depth + 1));
    }
    case 'integer':
    case 'number': {
      const lo = s.minimum ?? s.exclusiveMinimum ?? 0;
      const hi = s.maximum ?? s.exclusiveMaximum ?? lo + 100;
      const v = lo + rand() * (hi - lo);
      return type === 'integer' ? Math.round(v) : v;
    }
    case 'boolean':
      return rand() < 0.5;
    case 'null':
      return null;
    case 'string':
    default: {
      if (s.format === 'email') return `fuzz${Math.floor(rand() * 1000)}@example.com`;
      if (s.format === 'date-time') return new Date(Date.UTC(2026, 0, 1 + Math.floor(rand() * 300))).toISOString();
      if (s.format === 'uri' || s.format === 'url') return 'https://example.com/x';
      const len = Math.max(s.minLength ?? 1, Math.min(s.maxLength ?? 12, 12));
      let out = '';
      for (let i = 0; i < len; i++) out += 'abcdefghijklmnopqrstuvwxyz0123456789_'[Math.floor(rand() * 37)];
      return type === undefined && rand() < 0.3 ? Math.floor(rand() * 10) : out;
    }
  }
}

function deep(n: number, leaf: unknown, arrays: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < n; i++) v = arrays ? [v] : { a: v };
  return v;
}

/** Breaks a valid-ish body in one of many ways. */
function broken(value: unknown, rand: () => number): unknown {
  const r = rand();
  const wrong = [42, -1.5e308, true, 'str', null, [], {}, [1, 'a', null], 1e400 as number];
  if (r < 0.08) return pick(rand, wrong);
  if (r < 0.14) return deep(50 + Math.floor(rand() * 1000), 1, rand() < 0.5);
  if (r < 0.2) return 'x'.repeat(1000 + Math.floor(rand() * 200_000));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(obj);
    const k = keys.length ? pick(rand, keys) : 'field';
    const m = rand();
    if (m < 0.15) obj[k] = pick(rand, wrong);
    else if (m < 0.3) obj[k] = pick(rand, UNICODE) + pick(rand, UNICODE);
    else if (m < 0.4) obj[k] = 'y'.repeat(5000 + Math.floor(rand() * 100_000));
    else if (m < 0.5) obj[k] = null;
    else if (m < 0.6) delete obj[k];
    else if (m < 0.7) obj[`extra_${Math.floor(rand() * 100)}`] = 'unexpected';
    else if (m < 0.75) obj['__proto__'] = { polluted: true };
    else if (m < 0.8) obj['constructor'] = { prototype: { polluted: true } };
    else if (m < 0.9) obj[k] = deep(20 + Math.floor(rand() * 500), pick(rand, UNICODE), rand() < 0.5);
    else obj[k] = typeof obj[k] === 'string' ? (obj[k] as string) + pick(rand, UNICODE) : [obj[k], obj[k]];
    return obj;
  }
  return pick(rand, wrong);
}

function queryValue(doc: Json, schema: Json, rand: () => number): string {
  const r = rand();
  if (r < 0.5) return String(validish(doc, schema, rand));
  return pick(rand, ['-1', '0', '1e9', 'NaN', 'true', '', '%', 'a'.repeat(1000), ...UNICODE.map(enc), '%E0', '__proto__']);
}

function operations(doc: Json): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item as Record<string, Json>)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p: Json) => resolve(doc, p)),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
      });
    }
  }
  return ops;
}

async function main(): Promise<void> {
  process.stdout.write(`proof fuzz: ${REQUESTS} requests, seed ${SEED} (replay with PROOF_SEED=${SEED})\n`);
  const proof = await startProofStack('fuzz', {
    TSI_RATE_CREATE_PER_MINUTE: '10000',
    TSI_RATE_WRITE_PER_MINUTE: '100000',
    TSI_RATE_EXPENSIVE_READ_PER_MINUTE: '100000',
    TSI_RATE_QUERY_PER_MINUTE: '100000',
  });
  const base = proof.url;
  const tokens: Record<string, string> = {};
  for (const b of LOCAL_ROLE_BINDINGS) tokens[b.email] = await tokenFor(base, b.email);
  const docRes = await call(base, 'GET', '/v1/openapi.json');
  if (docRes.status !== 200) throw new Error(`GET /v1/openapi.json: ${docRes.status}`);
  const doc = docRes.body;
  const ops = operations(doc);
  // Real ids, so valid-ish requests reach the handlers behind the lookup.
  const seedInv = await call(base, 'POST', '/v1/investigations', { token: tokens['analyst@example.com']!, body: { subject: { type: 'user_id', value: 'u_fuzz_seed' } } });
  const realIds = [seedInv.body?.id].filter((x): x is string => typeof x === 'string');

  const rand = prng(SEED);
  const principals = [...Object.keys(tokens), 'none', 'garbage'];
  const plans = Array.from({ length: REQUESTS }, (_, i) => i);
  let problems = 0;
  const statusCounts = new Map<number, number>();

  const check = (method: string, path: string, res: Answer, what: string) => {
    figures.count(method, path, res, what);
    statusCounts.set(res.status, (statusCounts.get(res.status) ?? 0) + 1);
    if (res.status >= 400 && res.status < 500) {
      const ct = res.headers.get('content-type') ?? '';
      if (!ct.startsWith('application/problem+json') || typeof res.body?.type !== 'string') {
        problems++;
        figures.fail(`${res.status} without problem+json/type: ${method} ${path} (${what}) content-type="${ct}" body=${res.text.slice(0, 200)}`);
      }
    }
    const bare = path.split('?')[0]!;
    if (!UNSCANNED.has(bare)) {
      for (const re of LEAKS) {
        const m = res.text.match(re);
        if (m) {
          figures.fail(`body leaks ${re} ("${res.text.slice(Math.max(0, m.index! - 60), m.index! + 80)}"): ${res.status} ${method} ${path} (${what})`);
          break;
        }
      }
    }
  };

  // Each request is planned from the PRNG up front (in order), so a seed replays the same requests.
  const planned = plans.map(() => {
    const op = pick(rand, ops);
    const who = pick(rand, principals);
    let path = op.path;
    for (const p of op.params.filter((x) => x.in === 'path')) {
      const value = rand() < 0.4 && realIds.length ? realIds[0]! : rand() < 0.5 ? String(validish(doc, p.schema, rand)) : pick(rand, HOSTILE_IDS);
      path = path.replace(`{${p.name}}`, /^[%A-Za-z0-9._~-]*$/.test(value) ? value : enc(value));
    }
    const query: string[] = [];
    for (const p of op.params.filter((x) => x.in === 'query')) if (rand() < 0.5) query.push(`${encodeURIComponent(p.name)}=${queryValue(doc, p.schema, rand)}`);
    if (rand() < 0.15) query.push(`${pick(rand, ['extra', '__proto__', 'page_size', 'a[b]', '%E0'])}=${pick(rand, ['1', '%E0', 'x'.repeat(100)])}`);
    const headers: Record<string, string> = {};
    if (who === 'garbage') headers.authorization = pick(rand, ['Bearer x', 'Bearer ' + 'a'.repeat(4000), 'Basic Zm9vOmJhcg==', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'bearer']);
    else if (who !== 'none') headers.authorization = `Bearer ${tokens[who]}`;
    if (rand() < 0.15) headers['if-match'] = pick(rand, GARBAGE).replace(/[^\x20-\x7e]/g, '?');
    if (rand() < 0.15) headers['idempotency-key'] = pick(rand, GARBAGE).replace(/[^\x20-\x7e]/g, '?');
    if (rand() < 0.05) headers['x-fuzz'] = 'h'.repeat(6000);
    let raw: string | Buffer | undefined;
    const mode = rand();
    // fetch() sends no body with GET, so GETs are fuzzed through path, query and headers only.
    if (op.method !== 'GET' && (op.body || rand() < 0.3)) {
      const value = op.body ? validish(doc, op.body, rand) : {};
      const body = mode < 0.35 ? value : broken(value, rand);
      raw = rand() < 0.05 ? pick(rand, ['{', '{"a":', 'null', '[]', '\u0000', '{"a":1,"a":2}', '{"a":"\\uD800"}', 'x'.repeat(100_000), '['.repeat(50_000) + ']'.repeat(50_000), '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)]) : JSON.stringify(body);
      headers['content-type'] = rand() < 0.8 ? 'application/json' : pick(rand, CONTENT_TYPES);
      const enc = rand();
      if (enc < 0.1) {
        const e = pick(rand, ENCODINGS);
        headers['content-encoding'] = e;
        if (e === 'gzip' && rand() < 0.7) raw = gzipSync(Buffer.from(raw));
        else if (e === 'br' && rand() < 0.7) raw = brotliCompressSync(Buffer.from(raw));
      }
    } else if (op.method !== 'GET' && rand() < 0.05) {
      raw = 'unexpected body';
      headers['content-type'] = pick(rand, CONTENT_TYPES);
    }
    if (headers['content-type'] === '') delete headers['content-type'];
    return { method: op.method, path: query.length ? `${path}?${query.join('&')}` : path, headers, raw, who, template: `${op.method} ${op.path}` };
  });
  await pool(planned, CONCURRENCY, async (p) => {
    const res = await call(base, p.method, p.path, { headers: p.headers, ...(p.raw !== undefined ? { rawBody: p.raw } : {}) });
    check(p.method, p.path.slice(0, 200), res, `${p.who}, ${p.template}, ${p.headers['content-type'] ?? 'no content-type'}${p.headers['content-encoding'] ? `, ${p.headers['content-encoding']}` : ''}`);
  });
  const fuzzed = figures.requests;

  // The stack is healthy afterwards and still does its job.
  for (const path of ['/healthz', '/readyz']) {
    const res = await call(base, 'GET', path);
    if (res.status !== 200) figures.fail(`after the run, ${path} answers ${res.status}: ${res.text.slice(0, 200)}`);
  }
  const lead = tokens['lead@example.com']!;
  const created = await call(base, 'POST', '/v1/investigations', { token: lead, body: { subject: { type: 'user_id', value: 'u_fuzz_after' } } });
  if (created.status !== 201 && created.status !== 202) figures.fail(`after the run, a normal create answers ${created.status}: ${created.text.slice(0, 200)}`);
  else {
    const read = await call(base, 'GET', `/v1/investigations/${created.body.id}`, { token: lead });
    if (read.status !== 200) {
      figures.lost++;
      figures.fail(`after the run, reading the new investigation answers ${read.status}`);
    }
  }
  await proof.stop();
  figures.requests = fuzzed;
  Object.assign(figures.extra, {
    seed: SEED,
    operations: ops.length,
    not_problem_json: problems,
    statuses: [...statusCounts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(','),
  });
  figures.finish();
}

main().catch((error) => {
  figures.fail(`suite error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  figures.finish();
});
