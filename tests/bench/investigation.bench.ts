import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startStack, type Stack } from '../../local/stack.js';
import { Logger } from '../../shared/platform/logger.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/local.js';

/**
 * End-to-end investigation time (API accepted → completed) on generated data of ~1M and ~10M
 * usage rows, through the real local stack. The subject is a planted heavy-usage account, so the
 * usage table matters. Figures are ratios: 10M against 1M (the goal is far less than 10× the time
 * for 10× the data), and a repeated investigation of the same subject against its first run.
 *
 * The generated warehouses are cached under .local/bench/ (git-ignored), keyed by seed and size,
 * and rebuilt like the demo data when the generator changes or they get old.
 * BENCH_SIZES=1000000,10000000 and BENCH_REPEATS=5 override the defaults.
 */
const SEED = 1001;
const SIZES = (process.env.BENCH_SIZES ?? '1000000,10000000').split(',').map(Number).filter((n) => n > 0);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const SUBJECT = { type: 'email', value: 'steady.heavy@example.com' } as const;
const WINDOW_DAYS = 30;
const CACHE = resolve('.local', 'bench');
const quiet = new Logger({}, () => undefined, 'ERROR');

const out = (line = '') => process.stdout.write(line + '\n');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function cachedWarehouse(usageRows: number): Promise<{ file: string; rows: number; users: number }> {
  const dataDir = join(CACHE, `warehouse-seed${SEED}-usage${usageRows}`);
  const started = performance.now();
  const { generated } = await ensureLocalWarehouse({ dataDir, users: 2000, seed: SEED, usageRows, logger: quiet });
  const paths = localWarehousePaths(dataDir);
  const manifest = JSON.parse(readFileSync(paths.manifest, 'utf8')) as { rows: Record<string, number> };
  const truth = JSON.parse(readFileSync(paths.groundTruth, 'utf8')) as { users: number };
  if (generated) out(`  built ${dataDir} in ${secs(performance.now() - started)} (cached for later runs)`);
  return { file: paths.file, rows: manifest.rows.fct_tts_usage ?? 0, users: truth.users };
}

/** A throw-away data folder whose warehouse is the cached file (linked, not copied, when possible). */
function stackDataDir(file: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsi-bench-'));
  mkdirSync(join(dir, 'warehouse'));
  const target = join(dir, 'warehouse', 'warehouse.duckdb');
  try {
    linkSync(file, target);
  } catch {
    copyFileSync(file, target);
  }
  // No manifest: the stack never replaces a warehouse it did not generate.
  return dir;
}

async function investigateOnce(stack: Stack, token: string): Promise<number> {
  const res = await fetch(`${stack.url}/v1/investigations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject: SUBJECT, window_days: WINDOW_DAYS }),
  });
  const accepted = performance.now();
  if (res.status !== 202) throw new Error(`POST /v1/investigations: HTTP ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  for (;;) {
    const poll = await fetch(`${stack.url}/v1/investigations/${id}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await poll.json()) as { status: string; findings?: unknown[] };
    if (body.status === 'completed') return performance.now() - accepted;
    if (body.status === 'failed' || body.status === 'cancelled') throw new Error(`investigation ${id} ${body.status}: ${JSON.stringify(body).slice(0, 500)}`);
    if (performance.now() - accepted > 300_000) throw new Error(`investigation ${id} still ${body.status} after 300 s`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

interface Measured {
  usageRows: number;
  users: number;
  first: number;
  second: number;
  warm: number[];
}

async function measure(usageRows: number): Promise<Measured> {
  const cached = await cachedWarehouse(usageRows);
  const dataDir = stackDataDir(cached.file);
  const stack = await startStack({ ...process.env, PORT: '0', TSI_DATA_DIR: dataDir, TSI_RECONCILE_SECONDS: '3600', TSI_RATE_CREATE_PER_MINUTE: '10000', TSI_LOG_REQUESTS: 'false' }, quiet);
  try {
    const tokenRes = await fetch(`${stack.url}/_local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'analyst@example.com' }) });
    const { token } = (await tokenRes.json()) as { token: string };
    // The first investigation after start pays for opening the warehouse and reading table statistics.
    const first = await investigateOnce(stack, token);
    const second = await investigateOnce(stack, token);
    const warm: number[] = [];
    for (let i = 0; i < REPEATS; i++) warm.push(await investigateOnce(stack, token));
    return { usageRows: cached.rows, users: cached.users, first, second, warm };
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  out(`subject ${SUBJECT.type}:${SUBJECT.value} (planted heavy usage), window ${WINDOW_DAYS} days, API accepted (202) → completed, median of ${REPEATS} warm runs`);
  if (!existsSync(CACHE)) mkdirSync(CACHE, { recursive: true });
  const results: Measured[] = [];
  for (const size of SIZES) results.push(await measure(size));

  out();
  out(`  ${'usage rows'.padStart(12)}  ${'accounts'.padStart(9)}  ${'1st (cold)'.padStart(10)}  ${'2nd'.padStart(8)}  ${'warm median'.padStart(11)}  ${'2nd / 1st'.padStart(9)}  ${'warm / 1st'.padStart(10)}`);
  for (const r of results) {
    const warm = median(r.warm);
    out(
      `  ${r.usageRows.toLocaleString('en-US').padStart(12)}  ${r.users.toLocaleString('en-US').padStart(9)}  ${secs(r.first).padStart(10)}  ${secs(r.second).padStart(8)}  ${secs(warm).padStart(11)}  ${(r.second / r.first).toFixed(2).padStart(9)}  ${(warm / r.first).toFixed(2).padStart(10)}`,
    );
  }
  const base = results[0];
  for (const r of results.slice(1)) {
    if (!base) break;
    const dataRatio = r.usageRows / base.usageRows;
    out();
    out(`  ${dataRatio.toFixed(1)}× the usage rows (${(r.usageRows / 1e6).toFixed(1)}M vs ${(base.usageRows / 1e6).toFixed(1)}M):`);
    out(`    warm median time ×${(median(r.warm) / median(base.warm)).toFixed(2)}   first (cold) run time ×${(r.first / base.first).toFixed(2)}   (linear would be ×${dataRatio.toFixed(1)})`);
  }
  out();
  out('  (absolute times depend on the machine and its load; compare the ratios)');
}
