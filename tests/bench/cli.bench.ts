import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/**
 * How long `tsi help` takes as a user runs it, against starting a bare `node -e ''` in the same
 * run (the floor no launcher can go under), median of several, interleaved so load hits all alike:
 * - warm: bin/tsi.js with its bundle cached in dist/cli (every call but the first after a change);
 * - cold: a build into an empty cache, then help (the first call after a change);
 * - from source: compiling cli/main.ts through tsx on every call (what bin/tsi.js did before);
 * - `npx tsi help`: warm, plus npm's own start-up (npm resolves the repo's bin before running it).
 */
const exec = promisify(execFile);
const root = resolve('.');
const launcher = join(root, 'bin', 'tsi.js');
const ROUNDS = 7;

async function elapsed(file: string, args: string[]): Promise<number> {
  const started = performance.now();
  await exec(file, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const cacheModule = pathToFileURL(join(root, 'bin', 'cli-bundle.js')).href;
  const cold = (dir: string) => `
    const { buildBundle } = await import(${JSON.stringify(cacheModule)});
    const entry = await buildBundle({ root: ${JSON.stringify(root)}, entry: 'cli/main.ts', outDir: ${JSON.stringify(dir)} });
    const { main } = await import((await import('node:url')).pathToFileURL(entry).href);
    process.exitCode = await main(['help']);`;
  const fromSource = `
    const { register } = await import('tsx/esm/api');
    register({ tsconfig: ${JSON.stringify(join(root, 'tsconfig.json'))} });
    const { main } = await import(${JSON.stringify(pathToFileURL(join(root, 'cli', 'main.ts')).href)});
    process.exitCode = await main(['help']);`;
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

  await elapsed(process.execPath, [launcher, 'help']); // make sure the cache is warm
  mkdirSync(join(root, 'dist'), { recursive: true });
  const times = { node: [] as number[], warm: [] as number[], cold: [] as number[], source: [] as number[], npx: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    times.node.push(await elapsed(process.execPath, ['-e', '']));
    times.warm.push(await elapsed(process.execPath, [launcher, 'help']));
    // Inside the repo, as dist/cli is, so the bundle finds node_modules.
    const dir = mkdtempSync(join(root, 'dist', 'bench-cli-'));
    try {
      times.cold.push(await elapsed(process.execPath, ['--input-type=module', '-e', cold(dir)]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    times.source.push(await elapsed(process.execPath, ['--input-type=module', '-e', fromSource]));
    times.npx.push(await elapsed(npx, ['tsi', 'help']));
  }
  const base = median(times.node);
  const line = (label: string, xs: number[]) =>
    `  ${label.padEnd(34)} ${median(xs).toFixed(0).padStart(6)} ms   ${(median(xs) / base).toFixed(1).padStart(5)}× node -e ''\n`;
  process.stdout.write(`tsi help, median of ${ROUNDS} (node -e '' = ${base.toFixed(0)} ms):\n`);
  process.stdout.write(line('node bin/tsi.js help (warm cache)', times.warm));
  process.stdout.write(line('node bin/tsi.js help (cold cache)', times.cold));
  process.stdout.write(line('through tsx (the old launcher)', times.source));
  process.stdout.write(line('npx tsi help (warm cache)', times.npx));
}
