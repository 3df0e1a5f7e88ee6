#!/usr/bin/env node
// Launcher for the `tsi` CLI, with no build step for the user: it runs a bundle of cli/main.ts that
// esbuild writes to dist/cli/ on first use and again whenever one of its sources changes (see
// bin/cli-bundle.js), so a call does not compile TypeScript. Where esbuild is missing (an install
// without dev dependencies) or the sources do not bundle, it loads them through tsx as before.
// Everything is resolved from this file's location, not the cwd, so `npx tsi` works from anywhere.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundledEntry } from './cli-bundle.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = await bundledEntry({ root, entry: 'cli/main.ts', outDir: fileURLToPath(new URL('../dist/cli', import.meta.url)) }).catch(() => null);
const { main } = await import(bundle ? pathToFileURL(bundle).href : await fromSource());
process.exitCode = await main(process.argv.slice(2));

async function fromSource() {
  const { register } = await import('tsx/esm/api');
  const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
  // Use the project's tsconfig, not whichever one happens to sit in the caller's directory.
  register({ tsconfig: existsSync(tsconfig) ? tsconfig : false });
  return new URL('../cli/main.ts', import.meta.url).href;
}
