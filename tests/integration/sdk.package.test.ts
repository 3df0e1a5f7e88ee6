import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The SDK as another team gets it: `npm pack` of packages/sdk, installed into an empty project
 * outside this repository, type-checked and run from there — so the package carries its own
 * code and declarations and needs nothing of the platform's source.
 */
const root = resolve('.');
let work: string;
let server: Server;
let url: string;
const seen: { path: string; auth: string | undefined; key: string | undefined }[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsi-sdk-consumer-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: join(root, 'packages', 'sdk'), stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  const installed = join(work, 'node_modules', '@tsi', 'sdk');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(work, tarball), '-C', installed, '--strip-components=1']);
  // The package's own dependency, as npm would install it next to the package.
  symlinkSync(join(root, 'node_modules', 'zod'), join(work, 'node_modules', 'zod'), 'dir');

  server = createServer((req, res) => {
    seen.push({ path: `${req.method} ${req.url}`, auth: req.headers.authorization, key: req.headers['idempotency-key'] as string | undefined });
    if (req.method === 'POST' && req.url === '/v1/investigations') {
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'inv_1', status: 'queued' }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'https://tsi.dev/problems/not-found', title: 'Not found', status: 404 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

it('ships only its bundle and declarations', () => {
  const listing = execFileSync('tar', ['-tzf', join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(listing).toContain('package/dist/index.js');
  expect(listing).toContain('package/dist/types/packages/sdk/src/index.d.ts');
  expect(listing.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
});

it('type-checks a consumer against the packed declarations', () => {
  writeFileSync(
    join(work, 'consumer.ts'),
    `import { TsiClient, staticToken, ApiError, type CreateInvestigationRequest, type Investigation } from '@tsi/sdk';
const req: CreateInvestigationRequest = { subject: { type: 'email', value: 'a@example.com' }, window_days: 7 };
const tsi = new TsiClient({ baseUrl: 'http://x', auth: staticToken('t') });
export async function f(): Promise<Investigation['status']> { await tsi.createInvestigation(req); return (await tsi.getInvestigation('i')).status; }
export const isApi = (e: unknown) => e instanceof ApiError;
// @ts-expect-error: an unknown subject type is a compile error for the consumer
export const bad: CreateInvestigationRequest = { subject: { type: 'phone', value: '1' } };
`,
  );
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: [] }, files: ['consumer.ts'] }));
  expect(() => execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work], { stdio: 'pipe', encoding: 'utf8' })).not.toThrow();
});

it('runs from the installed package: creates with an idempotency key and turns problems into ApiError', async () => {
  writeFileSync(
    join(work, 'run.mjs'),
    `import { TsiClient, staticToken, ApiError } from '@tsi/sdk';
const tsi = new TsiClient({ baseUrl: process.argv[2], auth: staticToken('tok-1') });
const created = await tsi.createInvestigation({ subject: { type: 'email', value: 'a@example.com' } });
let code = null;
try { await tsi.getInvestigation('inv_missing'); } catch (e) { code = e instanceof ApiError ? e.status : 'other'; }
console.log(JSON.stringify({ id: created.id, code }));
`,
  );
  const out = await new Promise<string>((resolveRun, reject) => {
    import('node:child_process').then(({ execFile }) =>
      execFile(process.execPath, [join(work, 'run.mjs'), url], { cwd: work }, (error, stdout, stderr) => (error ? reject(new Error(stderr || String(error))) : resolveRun(stdout))),
    );
  });
  expect(JSON.parse(out)).toEqual({ id: 'inv_1', code: 404 });
  expect(seen[0]).toMatchObject({ path: 'POST /v1/investigations', auth: 'Bearer tok-1', key: expect.stringMatching(/.+/) });
});
