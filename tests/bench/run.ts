import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `npm run bench [-- <name>...]`: runs every `tests/bench/<name>.bench.ts` in name order, or only
 * the named ones. Each module exports `run(): Promise<void>` and prints its own figures, as ratios
 * against a baseline it measures in the same run (absolute times depend on the machine).
 */
const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => basename(f, '.bench.ts')).sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${available.join(', ') || 'none'}\n`);
  process.exit(2);
}
const selected = wanted.length ? available.filter((a) => wanted.includes(a)) : available;

let failed = 0;
for (const name of selected) {
  process.stdout.write(`\n=== bench: ${name} ${'='.repeat(Math.max(3, 60 - name.length))}\n`);
  const started = performance.now();
  try {
    const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') throw new Error(`${name}.bench.ts does not export run()`);
    await mod.run();
    process.stdout.write(`--- ${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    failed++;
    process.stdout.write(`--- ${name}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}
// Benchmarks start servers and timers of their own; do not wait for stragglers.
process.exit(failed ? 1 : 0);
