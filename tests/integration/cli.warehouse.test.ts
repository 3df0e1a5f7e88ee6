import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { clearEmulatorEndpoint, recordEmulatorEndpoint } from '../../shared/backup/local-endpoint.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Io } from '../../cli/main.js';

/**
 * `tsi warehouse generate` and `tsi warehouse load` through the CLI's `run`, in-process, against a
 * temporary data folder: what a new user sees when bringing their own contract-shaped data.
 */
const root = mkdtempSync(join(tmpdir(), 'tsi-cli-warehouse-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dataDir = join(root, 'data');
const generated = join(root, 'generated');
const warehouseFile = join(dataDir, 'warehouse', 'warehouse.duckdb');

const noStack = (async () => {
  throw new TypeError('fetch failed');
}) as unknown as typeof fetch;

async function tsi(argv: string[], env: Record<string, string> = {}, fetchImpl: typeof fetch = noStack) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (c: string) => (stdout += c) },
    stderr: { write: (c: string) => (stderr += c) },
    env: { TSI_DATA_DIR: dataDir, NO_COLOR: '1', ...env },
    fetch: fetchImpl,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('tsi warehouse', () => {
  it('generates a contract dataset with its ground truth', async () => {
    const res = await tsi(['warehouse', 'generate', '--out', generated, '--users', '150', '--seed', '11', '--now', '2026-03-01T12:00:00Z']);
    expect(res).toMatchObject({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/dim_users\s+150 rows/);
    expect(res.stdout).toMatch(/fct_tts_usage\s+[\d,]+ rows/);
    expect(res.stdout).toMatch(/Wrote 150 accounts .*: \d+ clean, \d+ with expected findings/);
    expect(res.stdout).toContain(`npx tsi warehouse load ${generated}`);
    const truth = JSON.parse(readFileSync(join(generated, 'ground-truth.json'), 'utf8'));
    expect(truth).toMatchObject({ seed: 11, users: 150, now: '2026-03-01T12:00:00.000Z' });
    for (const t of ['dim_users', 'fct_tts_usage', 'dim_voices', 'fct_moderation_flags', 'fct_logins', 'fct_payments']) expect(existsSync(join(generated, `${t}.csv`))).toBe(true);

    const again = await tsi(['warehouse', 'generate', '--out', generated, '--users', '150']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/not empty.*--force/);
  });

  it('loads the folder into the local warehouse, table by table, and says npm start will use it', async () => {
    const res = await tsi(['warehouse', 'load', generated]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/dim_users\s+150 rows\s+dim_users\.csv/);
    expect(res.stdout).toMatch(/Loaded 6 tables, [\d,]+ rows in [\d.]+ s; every table follows the contract/);
    expect(res.stdout).toMatch(/Kept the folder's ground-truth\.json/);
    expect(res.stderr).toMatch(/npm start` will use this data/);
    expect(existsSync(warehouseFile)).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir, 'warehouse', 'manifest.json'), 'utf8'))).toMatchObject({ source: 'folder', folder: generated, rows: { dim_users: 150 } });
    expect(JSON.parse(readFileSync(join(dataDir, 'warehouse', 'ground-truth.json'), 'utf8'))).toMatchObject({ seed: 11 });
  });

  it('tells the user to restart a local stack running on the same data folder, which keeps the old file open', async () => {
    mkdirSync(join(dataDir, 'firestore'), { recursive: true });
    recordEmulatorEndpoint(dataDir, '127.0.0.1', 9999); // as a running stack does, with a live pid
    try {
      const res = await tsi(['warehouse', 'load', generated, '--json']);
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ loaded: true, rows: { dim_users: 150 }, restart_needed: true });
      expect(res.stderr).toMatch(new RegExp(`local stack on .* \\(pid ${process.pid}\\) is running .*restart it`));
    } finally {
      clearEmulatorEndpoint(dataDir);
    }
  });

  it('refuses a folder that breaks the contract, lists problems by table, column and row, and keeps the warehouse', async () => {
    const before = statSync(warehouseFile).mtimeMs;
    const bad = join(root, 'bad');
    mkdirSync(bad);
    for (const t of ['dim_users', 'fct_tts_usage', 'dim_voices', 'fct_moderation_flags', 'fct_logins', 'fct_payments']) {
      let text = readFileSync(join(generated, `${t}.csv`), 'utf8');
      const lines = text.split('\n');
      if (t === 'dim_users') lines[2] = lines[2]!.replace(/,(free|starter|creator|pro|scale|business|enterprise),/, ',platinum,');
      if (t === 'fct_logins') lines[3] = lines[3]!.replace(/,usr_[a-z0-9_]+,/, ',usr_nobody,');
      text = lines.join('\n');
      writeFileSync(join(bad, `${t}.csv`), text);
    }
    const res = await tsi(['warehouse', 'load', bad]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/Nothing was loaded; the current warehouse is unchanged/);
    expect(res.stderr).toMatch(/dim_users\n {2}plan: 1 value\(s\) outside free, .*\n {6}row 2\n {6}value "platinum"/);
    expect(res.stderr).toMatch(/fct_logins\n {2}user_id: 1 value\(s\) not found in dim_users\.user_id\n {6}row 3\n/);
    // user ids are not personal data in the contract, so the unknown id is shown to find the mistake.
    expect(res.stderr).toContain('value "usr_nobody"');
    expect(statSync(warehouseFile).mtimeMs).toBe(before);
  });

  it('refuses in production mode and explains usage mistakes', async () => {
    const prod = await tsi(['warehouse', 'load', generated], { TSI_MODE: 'production' });
    expect(prod.code).toBe(2);
    expect(prod.stderr).toMatch(/local warehouse only/);
    const bigquery = await tsi(['warehouse', 'generate', '--out', join(root, 'bq')], { TSI_WAREHOUSE: 'bigquery' });
    expect(bigquery.code).toBe(2);
    expect(existsSync(join(root, 'bq'))).toBe(false);

    expect(await tsi(['warehouse', 'load'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/missing <folder>[\s\S]*usage: tsi warehouse load/) });
    expect(await tsi(['warehouse', 'load', join(root, 'nope')])).toMatchObject({ code: 2, stderr: expect.stringMatching(/is not a folder/) });
    expect(await tsi(['warehouse', 'generate', '--out', join(root, 'x'), '--users', '3'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--users must be a whole number from 50/) });
    expect(await tsi(['warehouse', 'help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/tsi warehouse generate --out <folder>/) });
    expect((await tsi(['--help'])).stdout).toMatch(/tsi warehouse load <folder>/);
  });
});
