#!/usr/bin/env node
// Builds the publishable @tsi/sdk package in packages/sdk/dist: one ESM bundle (the SDK imports
// the API schemas for types only, so no platform code ships) and the declarations it is typed by.
// `npm pack` in packages/sdk then gives a tarball another team can install.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const pkg = join(root, 'packages', 'sdk');
rmSync(join(pkg, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: [join(pkg, 'src', 'index.ts')],
  outfile: join(pkg, 'dist', 'index.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(pkg, 'tsconfig.build.json')], { stdio: 'inherit' });
console.log('built packages/sdk/dist (index.js + types); publish with: cd packages/sdk && npm pack');
