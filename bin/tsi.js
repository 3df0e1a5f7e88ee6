#!/usr/bin/env node
// Launcher for the `tsi` CLI: loads the TypeScript sources through tsx, so there is no build step.
// Everything is resolved from this file's location, not the cwd, so `npx tsi` works from anywhere.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const tsconfig = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
// Use the project's tsconfig, not whichever one happens to sit in the caller's directory.
register({ tsconfig: existsSync(tsconfig) ? tsconfig : false });

const { main } = await import(new URL('../cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
