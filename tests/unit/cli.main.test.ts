import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { run, type Io } from '../../cli/main.js';

/**
 * Drives the whole CLI (`run`) against a small stand-in of the platform's HTTP API. The stand-in
 * answers from a script per route, so the tests control each poll's answer without timing.
 */

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}
type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
type Handler = (req: Seen, count: number) => Reply;

class FakePlatform {
  readonly seen: Seen[] = [];
  private readonly routes = new Map<string, Handler>();
  private readonly counts = new Map<string, number>();
  private server!: http.Server;
  url = '';

  on(method: string, pathname: string, handler: Handler): this {
    this.routes.set(`${method} ${pathname}`, handler);
    return this;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => (raw += chunk));
      req.on('end', () => {
        const seen: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
        this.seen.push(seen);
        const key = `${seen.method} ${new URL(seen.url, 'http://x').pathname}`;
        const count = (this.counts.get(key) ?? 0) + 1;
        this.counts.set(key, count);
        const handler = this.routes.get(key);
        const reply: Reply = handler
          ? handler(seen, count)
          : { status: 404, body: { type: 'https://tsi.dev/problems/route-not-found', title: 'No such route', status: 404, detail: 'No route matches this method and path.' } };
        const problem = reply.status >= 400;
        res.writeHead(reply.status, { 'Content-Type': problem ? 'application/problem+json' : 'application/json', ...reply.headers });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function capture(env: Record<string, string | undefined>, extra: Partial<Io> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env,
    sleep: async (_ms, signal) => {
      if (signal?.aborted) throw signal.reason;
    },
    pollIntervalMs: 0,
    ...extra,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

const tokenRoute: Handler = (req) => ({ status: 200, body: { token: `tok-for-${(req.body as { email: string }).email}`, expires_at: '2026-01-01T01:00:00Z' } });

function doc(status: string, steps: object[], over: object = {}) {
  return {
    id: 'inv_1',
    status,
    subject: { type: 'email', value: 'j***@example.com', masked: true },
    question: null,
    window_days: 30,
    sensitivity: 'standard',
    created_by: 'analyst@example.com',
    created_at: '2026-01-01T10:00:00Z',
    updated_at: '2026-01-01T10:00:00Z',
    assignee: null,
    team: null,
    steps,
    findings: [],
    risk: null,
    recommended_action: null,
    summary: null,
    failure_reason: null,
    decision: null,
    attempts: 1,
    ...over,
  };
}

function step(index: number, status: string, description: string) {
  return { index, name: `s${index}`, description, params: {}, status, rows: 2, estimated_bytes: 2048, bytes_processed: 1024, duration_ms: 10, sql_hash: 'h', tables: [], freshness: null, started_at: `2026-01-01T10:00:0${index}Z` };
}

const completed = doc('completed', [step(1, 'completed', 'Resolve accounts'), step(2, 'completed', 'Voice clone reports')], {
  risk: { score: 55, contributions: [{ signal: 'clone_reports', points: 55, detail: '2 reports' }] },
  recommended_action: { action: 'warn', reason: 'Two reports.' },
  summary: 'Two clone reports.',
});

/** queued → running (step 1 done, step 2 running) → completed. */
function scriptedInvestigation(final: object = completed): Handler {
  const polls = [
    doc('queued', []),
    doc('running', [step(1, 'completed', 'Resolve accounts'), step(2, 'running', 'Voice clone reports')]),
    doc('running', [step(1, 'completed', 'Resolve accounts'), step(2, 'running', 'Voice clone reports')]),
    final,
  ];
  return (_req, count) => ({ status: 200, body: polls[Math.min(count, polls.length) - 1] });
}

/** A URL where nothing listens: a port that was just free. */
async function closedPort(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

let platform: FakePlatform;
afterEach(async () => {
  await platform?.stop();
});

describe('tsi token', () => {
  it('prints only the token, for $(...) capture', async () => {
    platform = await new FakePlatform().on('POST', '/_local/token', tokenRoute).start();
    const c = capture({ TSI_URL: platform.url });
    expect(await run(['token', 'lead@example.com'], c.io)).toBe(0);
    expect(c.stdout()).toBe('tok-for-lead@example.com\n');
    expect(platform.seen[0]?.body).toEqual({ email: 'lead@example.com' });
  });

  it('explains that a non-local platform gets tokens from Google (exit 2)', async () => {
    platform = await new FakePlatform().start();
    const c = capture({ TSI_URL: platform.url });
    expect(await run(['token', 'a@example.com'], c.io)).toBe(2);
    expect(c.stderr()).toContain(`the platform at ${platform.url} is not in local mode; tokens come from Google there (gcloud auth print-identity-token)`);
    expect(c.stdout()).toBe('');
  });

  it('shows the server problem for a principal without bindings (exit 2)', async () => {
    platform = await new FakePlatform()
      .on('POST', '/_local/token', () => ({ status: 403, body: { type: 'https://tsi.dev/problems/forbidden', title: 'Permission denied', status: 403, detail: 'nobody@example.com has no role binding.' } }))
      .start();
    const c = capture({ TSI_URL: platform.url });
    expect(await run(['token', 'nobody@example.com'], c.io)).toBe(2);
    expect(c.stderr()).toBe('error: Permission denied: nobody@example.com has no role binding.\n');
  });
});

describe('tsi investigate', () => {
  it('creates with an idempotency key, prints each step once as it finishes, then the result', async () => {
    platform = await new FakePlatform()
      .on('POST', '/_local/token', tokenRoute)
      .on('POST', '/v1/investigations', () => ({ status: 202, body: doc('queued', []) }))
      .on('GET', '/v1/investigations/inv_1', scriptedInvestigation())
      .start();
    const c = capture({ TSI_URL: platform.url, TSI_AS: 'lead@example.com' }, { newIdempotencyKey: () => 'key-123' });
    const code = await run(['investigate', 'email:John@Example.com', '--question', 'clone?', '--window-days', '7', '--restricted'], c.io);

    expect(code).toBe(0);
    const create = platform.seen.find((s) => s.method === 'POST' && s.url === '/v1/investigations');
    expect(create?.body).toEqual({ subject: { type: 'email', value: 'John@Example.com' }, question: 'clone?', window_days: 7, sensitivity: 'restricted' });
    expect(create?.headers['idempotency-key']).toBe('key-123');
    expect(create?.headers.authorization).toBe('Bearer tok-for-lead@example.com');
    expect(c.stderr()).toContain('acting as lead@example.com (from TSI_AS)');

    const out = c.stdout();
    const lines = out.split('\n');
    const first = lines.findIndex((l) => l.includes('Resolve accounts'));
    const second = lines.findIndex((l) => l.includes('Voice clone reports'));
    expect(lines.filter((l) => l.includes('Resolve accounts'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('Voice clone reports'))).toHaveLength(1);
    expect(first).toBeGreaterThan(lines.findIndex((l) => l.includes('running')));
    expect(second).toBeGreaterThan(first);
    expect(lines[first]).toBe('  1. Resolve accounts  · 2 rows · est. 2.0 KiB · 10 ms · completed');
    expect(out).toContain('Risk score 55');
    expect(out).toContain('Recommended action warn\n  Two reports.');
  });

  it('exits 1 when the investigation fails and shows why', async () => {
    platform = await new FakePlatform()
      .on('POST', '/_local/token', tokenRoute)
      .on('POST', '/v1/investigations', () => ({ status: 202, body: doc('queued', []) }))
      .on('GET', '/v1/investigations/inv_1', scriptedInvestigation(doc('failed', [step(1, 'completed', 'Resolve accounts')], { failure_reason: 'Warehouse unavailable.' })))
      .start();
    const c = capture({ TSI_URL: platform.url });
    expect(await run(['investigate', 'ip:2001:db8::1'], c.io)).toBe(1);
    expect((platform.seen.find((s) => s.url === '/v1/investigations')?.body as { subject: unknown }).subject).toEqual({ type: 'ip', value: '2001:db8::1' });
    expect(c.stdout()).toContain('Failure\n  Warehouse unavailable.');
    expect(c.stderr()).toContain('acting as analyst@example.com (the default; choose another with --as or TSI_AS)');
  });

  it('retries a create that met a 503 with the same idempotency key', async () => {
    platform = await new FakePlatform()
      .on('POST', '/_local/token', tokenRoute)
      .on('POST', '/v1/investigations', (_req, n) =>
        n === 1 ? { status: 503, body: { title: 'Service unavailable', status: 503, detail: 'try again' }, headers: { 'Retry-After': '0' } } : { status: 202, body: doc('queued', []) },
      )
      .on('GET', '/v1/investigations/inv_1', () => ({ status: 200, body: completed }))
      .start();
    const c = capture({ TSI_URL: platform.url });
    expect(await run(['investigate', 'user_id:u_1', '--idempotency-key', 'mine-1'], c.io)).toBe(0);
    const keys = platform.seen.filter((s) => s.url === '/v1/investigations').map((s) => s.headers['idempotency-key']);
    expect(keys).toEqual(['mine-1', 'mine-1']);
  });

  it('with --json, stdout is the final document only', async () => {
    platform = await new FakePlatform()
      .on('POST', '/v1/investigations', () => ({ status: 202, body: doc('queued', []) }))
      .on('GET', '/v1/investigations/inv_1', scriptedInvestigation())
      .start();
    const c = capture({ TSI_URL: platform.url, TSI_TOKEN: 'given' });
    expect(await run(['investigate', 'voice_id:v1', '--json'], c.io)).toBe(0);
    expect(JSON.parse(c.stdout())).toEqual(completed);
    expect(c.stderr()).toContain('Resolve accounts');
    // An explicit token is used as is; no local token is fetched.
    expect(platform.seen.some((s) => s.url === '/_local/token')).toBe(false);
    expect(platform.seen[0]?.headers.authorization).toBe('Bearer given');
  });

  it('Ctrl-C stops waiting, does not cancel, and says how to look later', async () => {
    const controller = new AbortController();
    platform = await new FakePlatform()
      .on('POST', '/v1/investigations', () => ({ status: 202, body: doc('queued', []) }))
      .on('GET', '/v1/investigations/inv_1', (_req, n) => {
        if (n === 2) controller.abort();
        return { status: 200, body: doc('running', []) };
      })
      .start();
    const c = capture({ TSI_URL: platform.url, TSI_TOKEN: 't' }, { signal: controller.signal });
    expect(await run(['investigate', 'email:a@example.com'], c.io)).toBe(130);
    expect(c.stderr()).toContain('tsi show inv_1');
    expect(platform.seen.some((s) => s.url.includes(':cancel'))).toBe(false);
  });
});

describe('tsi show and list', () => {
  it('show renders the investigation; --json prints it unchanged', async () => {
    const withExtra = { ...completed, future_field: { kept: true } };
    platform = await new FakePlatform().on('GET', '/v1/investigations/inv_1', () => ({ status: 200, body: withExtra })).start();
    const human = capture({ TSI_URL: platform.url, TSI_TOKEN: 't' });
    expect(await run(['show', 'inv_1'], human.io)).toBe(0);
    expect(human.stdout()).toMatch(/^Investigation inv_1 {2}completed/);
    expect(human.stdout()).toContain('EST. BYTES');
    const json = capture({ TSI_URL: platform.url, TSI_TOKEN: 't' });
    expect(await run(['show', 'inv_1', '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.stdout())).toEqual(withExtra);
  });

  it('prints API problems as "error: <title>: <detail>" and exits 1', async () => {
    platform = await new FakePlatform().start();
    const c = capture({ TSI_URL: platform.url, TSI_TOKEN: 't' });
    expect(await run(['show', 'inv_missing'], c.io)).toBe(1);
    expect(c.stderr()).toBe('error: No such route: No route matches this method and path.\n');
  });

  it('list sends the filters, prints a table and the next-page command', async () => {
    const item = { id: 'inv_1', status: 'completed', subject: { type: 'email', value: 'j***@example.com', masked: true }, sensitivity: 'standard', created_by: 'analyst@example.com', created_at: '2026-01-01T10:00:00Z', updated_at: '2026-01-01T10:00:00Z', assignee: null, risk_score: 55, recommended_action: 'warn', findings_count: 1 };
    platform = await new FakePlatform().on('GET', '/v1/investigations', () => ({ status: 200, body: { items: [item], next_page_token: 'p2' } })).start();
    const c = capture({ TSI_URL: platform.url, TSI_TOKEN: 't' });
    expect(await run(['list', '--status', 'completed', '--page-size', '1'], c.io)).toBe(0);
    expect(new URL(platform.seen[0]!.url, 'http://x').searchParams.toString()).toBe('status=completed&page_size=1');
    expect(c.stdout()).toContain('inv_1  completed  email j***@example.com  analyst@example.com  2026-01-01 10:00:00Z    55  warn');
    expect(c.stdout()).toContain('tsi list --status completed --page-size 1 --page-token p2');
  });

  it('list --all follows every page', async () => {
    const item = (id: string) => ({ id, status: 'queued', subject: { type: 'user_id', value: id }, created_by: 'a@example.com', created_at: '2026-01-01T10:00:00Z', risk_score: null, recommended_action: null });
    platform = await new FakePlatform()
      .on('GET', '/v1/investigations', (req) => {
        const token = new URL(req.url, 'http://x').searchParams.get('page_token');
        if (!token) return { status: 200, body: { items: [item('a')], next_page_token: 'p2' } };
        if (token === 'p2') return { status: 200, body: { items: [item('b')], next_page_token: 'p3' } };
        return { status: 200, body: { items: [item('c')], next_page_token: null } };
      })
      .start();
    const c = capture({ TSI_URL: platform.url, TSI_TOKEN: 't' });
    expect(await run(['list', '--all', '--json'], c.io)).toBe(0);
    expect(JSON.parse(c.stdout()).items.map((i: { id: string }) => i.id)).toEqual(['a', 'b', 'c']);
  });

  it('without a token, a non-local platform is a usage error pointing at Google tokens', async () => {
    platform = await new FakePlatform().start();
    const c = capture({ TSI_URL: platform.url });
    expect(await run(['list'], c.io)).toBe(2);
    expect(c.stderr()).toContain('pass --token or set TSI_TOKEN');
    expect(c.stderr()).toContain('gcloud auth print-identity-token');
  });
});

describe('tsi without a platform', () => {
  it('says to start the stack when the connection is refused', async () => {
    const url = await closedPort();
    const c = capture({ TSI_URL: url });
    expect(await run(['list'], c.io)).toBe(1);
    expect(c.stderr()).toBe(`error: cannot reach the platform at ${url} — is \`npm start\` running?\n`);
  });

  it('usage errors exit 2 with the usage text on stderr; help exits 0 on stdout', async () => {
    const bad = capture({});
    expect(await run(['nope'], bad.io)).toBe(2);
    expect(bad.stderr()).toContain('unknown command "nope"');
    expect(bad.stderr()).toContain('usage: tsi <command>');
    const help = capture({});
    expect(await run(['--help'], help.io)).toBe(0);
    expect(help.stdout()).toContain('usage: tsi <command>');
  });
});

describe('bin/tsi.js', () => {
  const launcher = path.resolve('bin/tsi.js');
  const exec = promisify(execFile);

  it('is executable and runs the TypeScript CLI from any directory', async () => {
    expect(fs.statSync(launcher).mode & 0o111).not.toBe(0);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-cli-'));
    try {
      const { stdout } = await exec(launcher, ['help'], { cwd, env: { ...process.env, NO_COLOR: '1' } });
      expect(stdout).toContain('usage: tsi <command>');
      const refused = (await exec(launcher, ['show', 'x', '--url', await closedPort()], { cwd }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      ));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('is `npm start` running?');
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
