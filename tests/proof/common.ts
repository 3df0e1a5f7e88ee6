import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../local/stack.js';
import { Logger } from '../../shared/platform/logger.js';
import { ensureLocalWarehouse } from '../../shared/warehouse/index.js';

/**
 * Shared pieces of the proof suites (tests/proof/*.ts): a local stack on a loopback port with its
 * own data folder, a bounded HTTP client, a seeded PRNG, and the fixed last line every suite prints.
 * Nothing here reaches beyond 127.0.0.1.
 */

export const WAREHOUSE_USERS = '200';
export const WAREHOUSE_SEED = '7';

/** Logs of the stack go nowhere unless PROOF_LOGS is set (the suite's own output is its result). */
export const quietLogger = new Logger({}, (line) => {
  if (process.env.PROOF_LOGS) process.stderr.write(line + '\n');
}, process.env.PROOF_LOGS ? 'DEBUG' : 'ERROR');

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** The generated warehouse, built once per machine and copied into each data folder. */
export async function templateWarehouse(): Promise<string> {
  const dir = join(tmpdir(), `tsi-proof-warehouse-${WAREHOUSE_SEED}-${WAREHOUSE_USERS}`);
  await ensureLocalWarehouse({ dataDir: dir, users: Number(WAREHOUSE_USERS), seed: Number(WAREHOUSE_SEED), logger: quietLogger });
  return dir;
}

/** A fresh data folder holding a copy of the template warehouse. */
export async function freshDataDir(prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `tsi-proof-${prefix}-`));
  const template = await templateWarehouse();
  const target = join(dir, 'warehouse');
  mkdirSync(target, { recursive: true });
  for (const name of ['warehouse.duckdb', 'ground-truth.json']) {
    if (existsSync(join(template, 'warehouse', name))) cpSync(join(template, 'warehouse', name), join(target, name));
  }
  return dir;
}

export function stackEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return {
    ...env,
    TSI_MODE: 'local',
    PORT: '0',
    TSI_DATA_DIR: dataDir,
    TSI_WAREHOUSE_USERS: WAREHOUSE_USERS,
    TSI_WAREHOUSE_SEED: WAREHOUSE_SEED,
    TSI_RECONCILE_SECONDS: '3600',
    ...extra,
  };
}

export interface ProofStack {
  stack: Stack;
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startProofStack(prefix: string, extraEnv: Record<string, string> = {}): Promise<ProofStack> {
  const dataDir = await freshDataDir(prefix);
  const stack = await startStack(stackEnv(dataDir, extraEnv), quietLogger);
  return {
    stack,
    url: stack.url.replace('localhost', '127.0.0.1'),
    dataDir,
    async stop() {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
  /** The client gave up (no answer within the timeout): status 0. */
  timedOut: boolean;
  /** The connection failed (reset, refused): status 0. */
  networkError?: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One request with a hard client timeout; never throws. */
export async function call(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs ?? 30_000);
  try {
    const res = await fetch(`${base}${path}`, { method, headers, signal: controller.signal, ...(body !== undefined ? { body: body as unknown as BodyInit } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: kept as text */
    }
    return { status: res.status, headers: res.headers, text, body: parsed, timedOut: false };
  } catch (error) {
    const aborted = controller.signal.aborted;
    return { status: 0, headers: new Headers(), text: '', body: null, timedOut: aborted, ...(aborted ? {} : { networkError: String((error as Error)?.message ?? error) }) };
  } finally {
    clearTimeout(timer);
  }
}

export async function tokenFor(base: string, email: string): Promise<string> {
  const res = await call(base, 'POST', '/_local/token', { body: { email } });
  if (res.status !== 200 || typeof res.body?.token !== 'string') throw new Error(`token for ${email}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  return res.body.token as string;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** The figures every suite reports, plus its own extra fields, and the failing examples. */
export class Figures {
  requests = 0;
  fiveXX = 0;
  lost = 0;
  duplicated = 0;
  stuck = 0;
  timeouts = 0;
  readonly extra: Record<string, number | string> = {};
  readonly failures: string[] = [];
  private failureCount = 0;

  constructor(readonly name: string) {}

  fail(message: string): void {
    this.failureCount++;
    if (this.failures.length < 20) this.failures.push(message);
  }

  get failed(): number {
    return this.failureCount;
  }

  /** Counts one answer; a 5xx or a client timeout is a failure with its example. */
  count(method: string, path: string, res: Answer, what = ''): void {
    this.requests++;
    if (res.timedOut) {
      this.timeouts++;
      this.fail(`timeout: ${method} ${path}${what ? ` (${what})` : ''}`);
    } else if (res.status >= 500) {
      this.fiveXX++;
      this.fail(`${res.status}: ${method} ${path}${what ? ` (${what})` : ''} -> ${res.text.slice(0, 300)}`);
    } else if (res.status === 0) {
      this.fail(`no answer: ${method} ${path}${what ? ` (${what})` : ''}: ${res.networkError ?? ''}`);
    }
  }

  line(): string {
    const extra = Object.entries(this.extra)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
    return `proof ${this.name}: requests=${this.requests} 5xx=${this.fiveXX} lost=${this.lost} duplicated=${this.duplicated} stuck=${this.stuck} timeouts=${this.timeouts}${extra}`;
  }

  /** Prints the failing examples, then the figures as the LAST line; exit code 1 on any failure. */
  finish(): never {
    if (this.failureCount > 0) {
      process.stdout.write(`FAILED: ${this.failureCount} invariant violation(s)${this.failureCount > this.failures.length ? `, first ${this.failures.length}` : ''}:\n`);
      for (const f of this.failures) process.stdout.write(`  - ${f}\n`);
    }
    process.stdout.write(this.line() + '\n');
    process.exit(this.failureCount > 0 ? 1 : 0);
  }
}

/** The suite's global bound: past it, the suite fails with a message instead of hanging CI. */
export function globalTimeout(figures: Figures, seconds: number): void {
  const t = setTimeout(() => {
    figures.fail(`global timeout: the suite did not finish within ${seconds} s`);
    figures.finish();
  }, seconds * 1000);
  t.unref();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      await work(items[i]!, i);
    }
  });
  await Promise.all(lanes);
}

export const TERMINAL = ['completed', 'failed', 'cancelled'] as const;
