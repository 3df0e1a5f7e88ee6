import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestStack, type TestStack } from './harness.js';

const run = promisify(execFile);
const TSI = join(process.cwd(), 'bin', 'tsi.js');

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack.destroy();
});

async function tsi(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TSI, ...args], { env: { ...process.env, TSI_URL: stack.url, NO_COLOR: '1', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tsi against the running local stack', () => {
  it('investigates a subject with live steps and prints the result, then shows and lists it', async () => {
    const res = await tsi(['investigate', 'email:ring.member@example.com']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/1\. .*ok/);
    expect(res.stdout).toMatch(/completed/);
    expect(res.stdout).toMatch(/Findings \(\d+\)/);
    expect(res.stdout).toMatch(/Recommended action/);
    const id = /Investigation (inv_\w+)/.exec(res.stdout)![1]!;
    const show = await tsi(['show', id, '--json']);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id, status: 'completed' });
    const list = await tsi(['list', '--created-by', 'analyst@example.com']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
  });

  it('prints a token for a bound principal that the API accepts', async () => {
    const res = await tsi(['token', 'lead@example.com']);
    expect(res.code).toBe(0);
    const token = res.stdout.trim();
    expect((await stack.call('GET', '/v1/me', { token })).body).toMatchObject({ email: 'lead@example.com', roles: ['lead'] });
  });

  it('refuses a token for an unbound principal', async () => {
    const res = await tsi(['token', 'stranger@example.com']);
    expect(res.code).toBe(2);
  });

  it('refuses to mint tokens when the platform is not in local mode', async () => {
    const notLocal = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json' }).end('{"type":"about:blank","title":"Not found","status":404}');
    });
    await new Promise<void>((r) => notLocal.listen(0, '127.0.0.1', () => r()));
    const port = (notLocal.address() as { port: number }).port;
    const res = await tsi(['token', 'lead@example.com'], { TSI_URL: `http://127.0.0.1:${port}` });
    notLocal.close();
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not in local mode/);
  });
});
