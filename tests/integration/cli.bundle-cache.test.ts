import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/**
 * bin/cli-bundle.js, the launcher's build cache, on a small project of its own: real esbuild, real
 * files, separate processes (as concurrent `tsi` calls are). The module is plain JavaScript that
 * runs before any TypeScript tooling, so each test drives it from a child `node`.
 */
const exec = promisify(execFile);
const MODULE = pathToFileURL(path.resolve('bin/cli-bundle.js')).href;

let project: string;
let outDir: string;

/** Old enough that the cache trusts it (a file modified during a build is not trusted). */
function writeSettled(file: string, text: string, ageSeconds = 60): void {
  fs.mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
  fs.writeFileSync(path.join(project, file), text);
  const when = new Date(Date.now() - ageSeconds * 1000);
  fs.utimesSync(path.join(project, file), when, when);
}

/** In a fresh process: get the bundle (cached or built), import it, print what its `answer()` gives. */
async function runBundled(): Promise<{ answer: string; fresh: boolean }> {
  const script = `
    import { bundledEntry, freshEntry } from ${JSON.stringify(MODULE)};
    import { pathToFileURL } from 'node:url';
    const options = { root: ${JSON.stringify(project)}, entry: 'src/main.ts', outDir: ${JSON.stringify(outDir)} };
    const fresh = freshEntry(options) !== null;
    const entry = await bundledEntry(options);
    const mod = await import(pathToFileURL(entry).href);
    process.stdout.write(JSON.stringify({ answer: await mod.answer(), fresh }));`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as { answer: string; fresh: boolean };
}

beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-bundle-'));
  outDir = path.join(project, 'dist', 'cli');
  writeSettled('src/main.ts', `import { word } from './word.js';\nexport async function answer(): Promise<string> {\n  const { late } = await import('./late.js');\n  return word + ' ' + late();\n}\n`);
  writeSettled('src/word.ts', `export const word: string = 'one';\n`);
  writeSettled('src/late.ts', `import { fileURLToPath } from 'node:url';\nexport const late = (): string => fileURLToPath(import.meta.url);\n`);
});

afterEach(() => {
  fs.rmSync(project, { recursive: true, force: true });
});

describe('the CLI build cache', () => {
  it('runs the entry it was asked for, not one of the chunks its dynamic imports became', async () => {
    // Dynamic imports are entry points of their own in esbuild's metafile; the stamp must name cli's.
    const lazy = Array.from({ length: 8 }, (_, i) => `src/lazy${i}.ts`);
    for (const [i, file] of lazy.entries()) writeSettled(file, `export const n = ${i};\n`);
    writeSettled('src/main.ts', `export async function answer(): Promise<string> {\n  const ns = await Promise.all([${lazy.map((f) => `import('./${path.basename(f, '.ts')}.js')`).join(', ')}]);\n  return 'sum ' + ns.reduce((a, m) => a + m.n, 0);\n}\n`);
    expect((await runBundled()).answer).toBe('sum 28');
  });

  it('builds once, then reuses the build while no source changes', async () => {
    const first = await runBundled();
    expect(first.fresh).toBe(false);
    expect(first.answer.split(' ')[0]).toBe('one');
    const second = await runBundled();
    expect(second).toEqual({ ...first, fresh: true });
  });

  it('rebuilds when a source the bundle was built from changes, also one loaded lazily', async () => {
    await runBundled();
    writeSettled('src/word.ts', `export const word: string = 'two';\n`, 30);
    const changed = await runBundled();
    expect(changed.fresh).toBe(false);
    expect(changed.answer.split(' ')[0]).toBe('two');
    writeSettled('src/late.ts', `export const late = (): string => 'later';\n`, 20);
    expect(await runBundled()).toEqual({ answer: 'two later', fresh: false });
    expect((await runBundled()).fresh).toBe(true);
  });

  it('does not trust a build whose sources were modified just before or while it ran', async () => {
    writeSettled('src/word.ts', `export const word: string = 'now';\n`, 0);
    expect((await runBundled()).answer.startsWith('now ')).toBe(true);
    expect((await runBundled()).fresh).toBe(false);
  });

  it('keeps import.meta.url pointing at the source file, as when run from source', async () => {
    const { answer } = await runBundled();
    expect(answer.split(' ')[1]).toBe(path.join(project, 'src', 'late.ts'));
  });

  it('survives concurrent first calls: every process gets a complete, working build', async () => {
    // Large enough that writing the bundle takes a while, so a reader could meet a half-written file.
    writeSettled('src/word.ts', `export const word: string = 'one';\nexport const ballast = ${JSON.stringify('x'.repeat(8_000_000))};\n`);
    writeSettled('src/main.ts', `import { word, ballast } from './word.js';\nexport async function answer(): Promise<string> {\n  const { late } = await import('./late.js');\n  return word + ' ' + late() + ' ' + ballast.length;\n}\n`);
    const results = await Promise.all(Array.from({ length: 8 }, () => runBundled()));
    for (const r of results) expect(r.answer.split(' ')).toEqual(['one', expect.any(String), '8000000']);
    expect(fs.readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const stamp = JSON.parse(fs.readFileSync(path.join(outDir, 'build.json'), 'utf8')) as { entry: string; outputs: string[] };
    for (const file of stamp.outputs) expect(fs.existsSync(path.join(outDir, file))).toBe(true);
    expect((await runBundled()).fresh).toBe(true);
  });
});
