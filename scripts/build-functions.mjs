#!/usr/bin/env node
// Builds one small bundle per active function in functions/manifest.json: our code bundled and
// tree-shaken by esbuild, npm packages left external and listed (pinned to the root
// package.json's ranges) in the bundle's own package.json so Cloud Functions installs only what
// that function imports. Writes dist/functions/<name>.zip, named in
// dist/functions/artifacts.auto.tfvars.json as <name>/<sha256>.zip (content hash) for Terraform.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const out = join(root, 'dist', 'functions');
const manifest = JSON.parse(readFileSync(join(root, 'functions', 'manifest.json'), 'utf8'));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Local stand-ins are loaded only in local mode (dynamic import); production bundles never ship them.
const LOCAL_ONLY = new Set(['@duckdb/node-api', '@firestore-emulator/proto', 'tsx']);
const only = process.argv.slice(2);

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
    logLevel: 'warning',
    legalComments: 'none',
  });
  const packages = new Map();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imp of input.imports) {
      if (!imp.external || imp.path.startsWith('node:')) continue;
      const name = imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : imp.path.split('/')[0];
      if (LOCAL_ONLY.has(name)) {
        if (imp.kind !== 'dynamic-import') throw new Error(`${fn.name}: statically imports local-only package ${name}`);
        continue;
      }
      packages.set(name, true);
    }
  }
  const dependencies = {};
  for (const name of [...packages.keys()].sort()) {
    const range = rootPkg.dependencies?.[name];
    if (!range) throw new Error(`${fn.name}: imports ${name}, which is not a runtime dependency in package.json`);
    dependencies[name] = range;
  }
  const pkg = { name: `tsi-${fn.name}`, private: true, type: 'module', main: 'index.js', engines: { node: '>=20' }, dependencies };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  // Deterministic zip (fixed timestamps, sorted entries) so the same code gives the same hash.
  execFileSync('sh', ['-c', `cd "${dir}" && find . -type f -exec touch -t 198001010000 {} + && find . -type f | LC_ALL=C sort | zip -X -q -D "../${fn.name}.zip" -@`]);
  const hash = createHash('sha256').update(readFileSync(join(out, `${fn.name}.zip`))).digest('hex');
  artifacts[fn.name] = `${fn.name}/${hash}.zip`;
  const size = readFileSync(join(dir, 'index.js')).length;
  console.log(`${fn.name}: ${(size / 1024).toFixed(0)} KiB, ${Object.keys(dependencies).length} packages, ${artifacts[fn.name]}`);
}
writeFileSync(join(out, 'artifacts.auto.tfvars.json'), JSON.stringify({ function_artifacts: artifacts }, null, 2) + '\n');
