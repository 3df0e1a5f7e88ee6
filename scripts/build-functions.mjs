#!/usr/bin/env node
// Builds one small bundle per active function in functions/manifest.json: our code bundled and
// tree-shaken by esbuild, npm packages left external and listed (pinned to the versions in
// package-lock.json) in the bundle's own package.json so Cloud Functions installs only what
// that function imports. Writes dist/functions/<name>.zip, named in
// dist/functions/artifacts.auto.tfvars.json as <name>/<sha256>.zip (content hash) for Terraform.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { zipSync } from 'fflate';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const out = join(root, 'dist', 'functions');
const manifest = JSON.parse(readFileSync(join(root, 'functions', 'manifest.json'), 'utf8'));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
// Local stand-ins are loaded only in local mode (dynamic import); production bundles never ship them.
const LOCAL_ONLY = new Set(['@duckdb/node-api', '@firestore-emulator/proto', 'tsx']);
// Our own stand-in code (the embedded Firestore emulator, the DuckDB warehouse, the local stack):
// a dynamic import of it is replaced by a module that refuses to load; a static one fails the build.
export const LOCAL_ONLY_SOURCES = [/^shared\/store\/emulator/, /^local\//, /^shared\/warehouse\/(duckdb|load|local|generator)\.ts$/];
const localOnlySources = {
  name: 'local-only-sources',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = relative(root, resolve(args.resolveDir, args.path)).replace(/\.js$/, '.ts');
      if (!LOCAL_ONLY_SOURCES.some((re) => re.test(target))) return undefined;
      if (args.kind !== 'dynamic-import') {
        return { errors: [{ text: `${relative(root, args.importer)} statically imports local-only ${target}; import it dynamically where the local adapter is chosen` }] };
      }
      return { path: target, namespace: 'local-only' };
    });
    b.onLoad({ filter: /.*/, namespace: 'local-only' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is a local stand-in and is not part of production bundles`)});`,
      loader: 'js',
    }));
  },
};
const only = process.argv.slice(2);
// Zip timestamps are local DOS times; any fixed value gives a stable hash.
const ZIP_TIME = new Date(1980, 0, 1, 12);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const artifacts = {};
for (const fn of manifest.functions) {
  if (fn.status !== 'active' || (only.length && !only.includes(fn.name))) continue;
  const dir = join(out, fn.name);
  const result = await build({
    entryPoints: [join(root, fn.source)],
    outfile: join(dir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [localOnlySources],
  }).catch((error) => {
    for (const e of error.errors ?? [{ text: String(error) }]) console.error(`${fn.name}: ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    process.exit(1);
  });
  for (const w of result.warnings) console.error(`${fn.name}: warning: ${w.location ? `${w.location.file}:${w.location.line}: ` : ''}${w.text}`);
  writeFileSync(join(out, `${fn.name}.meta.json`), JSON.stringify(result.metafile, null, 2) + '\n');
  const packages = new Map();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imp of input.imports) {
      // Relative paths listed as external are imports esbuild dropped as type-only.
      if (!imp.external || imp.path.startsWith('node:') || imp.path.startsWith('.')) continue;
      const name = imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : imp.path.split('/')[0];
      if (LOCAL_ONLY.has(name)) {
        if (imp.kind !== 'dynamic-import') throw new Error(`${fn.name}: statically imports local-only package ${name}`);
        continue;
      }
      packages.set(name, true);
    }
  }
  // Packages loaded on first use through shared/platform/lazy-package.ts: invisible to the bundler.
  for (const m of readFileSync(join(dir, 'index.js'), 'utf8').matchAll(/lazyPackage\(\s*"([^"]+)"\s*\)/g)) packages.set(m[1], true);
  const dependencies = {};
  for (const name of [...packages.keys()].sort()) {
    if (!rootPkg.dependencies?.[name]) throw new Error(`${fn.name}: imports ${name}, which is not a runtime dependency in package.json`);
    // The exact version the tests ran with (package-lock.json), not a range that may move on deploy.
    const locked = lock.packages?.[`node_modules/${name}`]?.version;
    if (!locked) throw new Error(`${fn.name}: ${name} is not in package-lock.json; run npm install`);
    dependencies[name] = locked;
  }
  const pkg = { name: `tsi-${fn.name}`, private: true, type: 'module', main: 'index.js', engines: { node: '>=20' }, dependencies };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  // Deterministic zip (fixed timestamps, sorted entries) so the same code gives the same hash.
  const entries = {};
  for (const file of readdirSync(dir).sort()) entries[file] = [readFileSync(join(dir, file)), { mtime: ZIP_TIME, level: 9 }];
  writeFileSync(join(out, `${fn.name}.zip`), zipSync(entries));
  const hash = createHash('sha256').update(readFileSync(join(out, `${fn.name}.zip`))).digest('hex');
  artifacts[fn.name] = `${fn.name}/${hash}.zip`;
  const size = readFileSync(join(dir, 'index.js')).length;
  console.log(`${fn.name}: ${(size / 1024).toFixed(0)} KiB, ${Object.keys(dependencies).length} packages, ${artifacts[fn.name]}`);
}
writeFileSync(join(out, 'artifacts.auto.tfvars.json'), JSON.stringify({ function_artifacts: artifacts }, null, 2) + '\n');
