#!/usr/bin/env node
// Project rules tsc cannot check (docs/CONVENTIONS-FOR-HELPERS.md): relative imports end in .js,
// no console.log in library code, process.env read only by the config and logger modules.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ENV_READERS = new Set(['shared/platform/config.ts', 'shared/platform/logger.ts', 'shared/platform/function-config.ts']);
const problems = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) check(relative(root, path), readFileSync(path, 'utf8'));
  }
}
function check(file, text) {
  text.split('\n').forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    const imp = /^\s*(?:import|export)\s[^'"]*from\s+['"](\.{1,2}\/[^'"]+)['"]/.exec(line);
    if (imp && !/\.(js|json)$/.test(imp[1])) problems.push(`${at}: relative import "${imp[1]}" must end in .js`);
    if (/\bconsole\.log\(/.test(line) && file.startsWith('shared/')) problems.push(`${at}: console.log in library code (use the logger)`);
    if (/\bprocess\.env\b/.test(line) && (file.startsWith('shared/') || file.startsWith('functions/')) && !ENV_READERS.has(file)) {
      problems.push(`${at}: process.env outside shared/platform/config.ts`);
    }
  });
}
for (const dir of ['shared', 'functions']) walk(join(root, dir));
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: ok');
