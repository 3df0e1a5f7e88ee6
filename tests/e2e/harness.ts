import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../local/stack.js';
import { Logger } from '../../shared/platform/logger.js';
import { ensureLocalWarehouse } from '../../shared/warehouse/index.js';
import { responseObservers, type ResponseObserver } from '../../shared/api/observe.js';
import { responseValidator, type Sample } from '../contract/validate.js';

/**
 * Starts the real local stack (the one `npm start` runs) on a free port with its own data folder.
 * The generated warehouse is built once per test run and copied, to keep suites fast.
 */
export const quietLogger = new Logger({}, (line) => {
  if (process.env.TSI_TEST_LOGS) process.stderr.write(line + '\n');
}, 'DEBUG');

const WAREHOUSE_USERS = '300';
const WAREHOUSE_SEED = '7';

async function templateWarehouse(): Promise<string> {
  const dir = join(tmpdir(), `tsi-test-warehouse-${WAREHOUSE_SEED}-${WAREHOUSE_USERS}`);
  await ensureLocalWarehouse({ dataDir: dir, users: Number(WAREHOUSE_USERS), seed: Number(WAREHOUSE_SEED), logger: quietLogger });
  return dir;
}

export interface TestStack extends Stack {
  dataDir: string;
  token(email: string): Promise<string>;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any }>;
  restart(): Promise<TestStack>;
  destroy(): Promise<void>;
  /** Every API response this test file has seen (route template, status, body), for the contract check. */
  samples: Sample[];
  /** Each recorded response checked against the served OpenAPI document; one line per violation. */
  contractViolations(): Promise<string[]>;
}

/**
 * Every API response of the e2e tests is recorded (by route template) and validated against the
 * served `/v1/openapi.json` when the stack is destroyed: a response the document does not describe
 * fails the test file that saw it (docs/decisions/0013).
 */
const samples: Sample[] = [];
const recorder: ResponseObserver = (route, status, result) => {
  if (!route) return;
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  let body: unknown = result.body;
  const contentType = headers['content-type'] ?? (result.text !== undefined ? 'text/plain' : result.body === undefined ? '' : 'application/json');
  if (result.text !== undefined) {
    body = result.text;
    if (contentType.includes('json')) {
      try {
        body = JSON.parse(result.text);
      } catch {
        /* validated as text */
      }
    }
  }
  samples.push({ method: route.method, path: route.path, status, contentType, body: body === undefined ? null : JSON.parse(JSON.stringify(body)) });
};

async function violations(url: string): Promise<string[]> {
  if (!samples.length) return [];
  const doc = await (await fetch(`${url}/v1/openapi.json`)).json();
  const check = responseValidator(doc);
  return [...new Set(samples.map(check).filter((v): v is string => v !== null))];
}

export async function startTestStack(env: Record<string, string> = {}, dataDir?: string): Promise<TestStack> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'tsi-e2e-'));
  const template = await templateWarehouse();
  const target = join(dir, 'warehouse');
  if (!existsSync(target)) {
    mkdirSync(target, { recursive: true });
    copyWarehouse(join(template, 'warehouse'), target);
  }
  const fullEnv = {
    ...process.env,
    PORT: '0',
    TSI_DATA_DIR: dir,
    TSI_WAREHOUSE_USERS: WAREHOUSE_USERS,
    TSI_WAREHOUSE_SEED: WAREHOUSE_SEED,
    TSI_RECONCILE_SECONDS: '3600',
    ...env,
  };
  const stack = await startStack(fullEnv, quietLogger);
  responseObservers.add(recorder);
  const test: TestStack = Object.assign(stack, {
    dataDir: dir,
    samples,
    contractViolations: () => violations(stack.url),
    async token(email: string) {
      const res = await fetch(`${stack.url}/_local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
      if (!res.ok) throw new Error(`token for ${email}: HTTP ${res.status}`);
      return ((await res.json()) as { token: string }).token;
    },
    async call(method: string, path: string, opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.rawBody !== undefined) body = opts.rawBody;
      else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${stack.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* leave as text */
      }
      return { status: res.status, headers: res.headers, body: parsed as any };
    },
    async restart() {
      await stack.stop();
      return startTestStack(env, dir);
    },
    async destroy() {
      const found = process.env.TSI_CONTRACT_SKIP ? [] : await violations(stack.url).catch((e) => [`contract check failed: ${String(e)}`]);
      samples.length = 0;
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
      if (found.length) throw new Error(`responses that do not match /v1/openapi.json:\n${found.join('\n')}`);
    },
  });
  return test;
}

function copyWarehouse(from: string, to: string): void {
  for (const name of ['warehouse.duckdb', 'ground-truth.json']) {
    if (existsSync(join(from, name))) copyFileSync(join(from, name), join(to, name));
  }
}

/** Polls an investigation until it reaches one of the given states. */
export async function waitFor(stack: TestStack, id: string, token: string, states = ['completed', 'failed', 'cancelled'], timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await stack.call('GET', `/v1/investigations/${id}`, { token });
    if (res.status === 200 && states.includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`investigation ${id} still ${res.body?.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
