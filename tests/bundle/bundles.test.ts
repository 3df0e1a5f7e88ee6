import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { builtinModules } from 'node:module';
import { ROOT, activeFunctions, buildBundles } from './harness.js';

/**
 * What `npm run build:functions` (run by cloudbuild.yaml) produces: one bundle per active
 * function, the same bytes on every build, and no local stand-in code inside.
 */
const DIST = join(ROOT, 'dist', 'functions');
let firstBuild: Record<string, string>;

beforeAll(() => {
  buildBundles();
  firstBuild = JSON.parse(readFileSync(join(DIST, 'artifacts.auto.tfvars.json'), 'utf8')).function_artifacts;
}, 120_000);

it('builds every active function in functions/manifest.json', () => {
  expect(Object.keys(firstBuild).sort()).toEqual(activeFunctions.map((f) => f.name).sort());
  for (const fn of activeFunctions) expect(existsSync(join(DIST, `${fn.name}.zip`))).toBe(true);
});

it('is deterministic: a rebuild gives the same content hashes', () => {
  buildBundles();
  const second = JSON.parse(readFileSync(join(DIST, 'artifacts.auto.tfvars.json'), 'utf8')).function_artifacts;
  expect(second).toEqual(firstBuild);
}, 120_000);

/** Our stand-in code and local-only packages: none of it may run in production. */
const FORBIDDEN = [/^shared\/store\/emulator/, /^local\//, /^shared\/warehouse\/(duckdb|load|local|generator)\.ts$/, /node_modules\/@duckdb\//, /node_modules\/@firestore-emulator\//, /node_modules\/tsx\//];

it.each(activeFunctions.map((f) => f.name))('the %s bundle carries no emulator, local stack or DuckDB code', (name) => {
  const meta = JSON.parse(readFileSync(join(DIST, `${name}.meta.json`), 'utf8')) as { inputs: Record<string, { imports: { path: string; external?: boolean; kind: string }[] }> };
  const inputs = Object.keys(meta.inputs).filter((p) => !p.startsWith('local-only:'));
  expect(inputs.filter((p) => FORBIDDEN.some((re) => re.test(p)))).toEqual([]);
  const externals = Object.values(meta.inputs).flatMap((i) => i.imports.filter((x) => x.external && x.kind !== 'dynamic-import').map((x) => x.path));
  expect(externals.filter((p) => /^(@duckdb|@firestore-emulator|tsx)(\/|$)/.test(p))).toEqual([]);
  // What the bundle imports is what its package.json makes Cloud Functions install.
  const pkg = JSON.parse(readFileSync(join(DIST, name, 'package.json'), 'utf8'));
  const packages = new Set(externals.filter((p) => !p.startsWith('node:') && !p.startsWith('.')).map((p) => (p.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]!)));
  expect([...packages].filter((p) => !pkg.dependencies[p])).toEqual([]);
});

/** Every bare import in the repository's code resolves to a package it declares. */
it('declares every package the code imports', () => {
  const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const declared = new Set([...Object.keys(rootPkg.dependencies ?? {}), ...Object.keys(rootPkg.devDependencies ?? {})]);
  const builtins = new Set(builtinModules);
  const missing = new Set<string>();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist' ? [] : e.isDirectory() ? walk(join(dir, e.name)) : /\.(ts|mjs|js)$/.test(e.name) ? [join(dir, e.name)] : []));
  for (const dir of ['shared', 'functions', 'local', 'cli', 'bin', 'scripts', 'tests', 'packages']) {
    if (!existsSync(join(ROOT, dir))) continue;
    for (const file of walk(join(ROOT, dir))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?<![.\w])import\(\s*['"]([^'"]+)['"]\s*\)|(?<![.\w])require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = (m[1] ?? m[2] ?? m[3])!;
        // Template literals in generated scripts (`${root}/...`) are paths, not packages.
        if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('$') || spec.startsWith('node:') || builtins.has(spec.split('/')[0]!)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!declared.has(name)) missing.add(`${name} (${relative(ROOT, file)})`);
      }
    }
  }
  expect([...missing]).toEqual([]);
});
