// The `tsi` launcher's build cache: esbuild bundles cli/main.ts (npm packages left external,
// dynamic imports split into chunks so a command loads only what it uses) into a git-ignored
// folder, and the launcher runs that bundle until one of its sources changes. Plain JavaScript:
// this runs before anything could compile TypeScript. See docs/decisions/0050-cli-build-cache.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const STAMP = 'build.json';
const FORMAT = 1;
/** Files that shape the output without being inputs of the bundle: the project's settings, this file, esbuild. */
const buildInputs = (root) => [join(root, 'package.json'), join(root, 'tsconfig.json'), fileURLToPath(import.meta.url), createRequire(import.meta.url).resolve('esbuild/package.json')];
/** An input modified this close to the build may have changed while esbuild read it: do not trust the stamp. */
const SETTLE_MS = 2000;
/** Outputs of earlier builds are removed once this old; a process started on them has long loaded them. */
const KEEP_OLD_MS = 24 * 60 * 60 * 1000;

const stat = (file) => {
  try {
    const s = statSync(file);
    return [s.mtimeMs, s.size];
  } catch {
    return null;
  }
};

/** The bundle's entry file if the last build is still current (every input unchanged), else null. */
export function freshEntry({ root, outDir }) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(outDir, STAMP), 'utf8'));
  } catch {
    return null;
  }
  if (stamp?.format !== FORMAT || typeof stamp.entry !== 'string' || typeof stamp.inputs !== 'object') return null;
  for (const [file, recorded] of Object.entries(stamp.inputs)) {
    const now = stat(resolve(root, file));
    const same = recorded === null ? now === null : Array.isArray(recorded) && now !== null && now[0] === recorded[0] && now[1] === recorded[1];
    if (!same) return null;
  }
  return join(outDir, stamp.entry);
}

/**
 * Builds the bundle and records its inputs. Safe to run in several processes at once: outputs are
 * named by content hash and every file is written to a temporary name and renamed into place, the
 * stamp last, so a reader always finds a complete build. Returns the entry file, or null when
 * esbuild is not installed. Throws when the sources do not build.
 */
export async function buildBundle({ root, entry, outDir }) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return null;
  }
  const started = Date.now();
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    metafile: true,
    write: false,
    logLevel: 'silent',
    plugins: [externalPackages(), sourceLocation(root)],
  });
  mkdirSync(outDir, { recursive: true });
  const outputs = [];
  for (const file of result.outputFiles) {
    outputs.push(relative(outDir, file.path));
    if (stat(file.path)) continue; // named by content hash and renamed into place whole: already there
    writeAtomically(file.path, file.contents);
  }
  const entryOut = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === entry)?.[0];
  if (!entryOut) throw new Error('esbuild reported no entry output');
  const inputs = {};
  for (const file of [...Object.keys(result.metafile.inputs).map((f) => resolve(root, f)), ...buildInputs(root)]) {
    const now = stat(file);
    // A file absent is recorded as absent; one just modified as something no file matches, so the next call rebuilds.
    inputs[relative(root, file)] = now === null || now[0] < started - SETTLE_MS ? now : 'unsettled';
  }
  const entryFile = resolve(root, entryOut);
  writeAtomically(join(outDir, STAMP), JSON.stringify({ format: FORMAT, entry: relative(outDir, entryFile), inputs, outputs }, null, 1) + '\n');
  pruneOldOutputs(outDir, new Set([...outputs, STAMP]));
  return entryFile;
}

/** The current bundle's entry: the cached one, or a fresh build. */
export async function bundledEntry(options) {
  return freshEntry(options) ?? (await buildBundle(options));
}

function writeAtomically(path, contents) {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, path);
}

function pruneOldOutputs(outDir, keep) {
  for (const name of readdirSync(outDir)) {
    if (keep.has(name)) continue;
    const s = stat(join(outDir, name));
    if (s && Date.now() - s[0] > KEEP_OLD_MS) rmSync(join(outDir, name), { force: true });
  }
}

/**
 * npm packages stay external (loaded from node_modules when a chunk that uses them runs), except
 * the few the CLI needs for every command: bundled, they cost no module loading of their own.
 */
const BUNDLED_PACKAGES = new Set(['zod']);
function externalPackages() {
  return {
    name: 'external-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return BUNDLED_PACKAGES.has(name) ? undefined : { external: true };
      });
    },
  };
}

/**
 * Bundling moves code into dist/, which would change what `import.meta.url` means: each source
 * keeps its own location (as when run from source), so files found next to it are still found.
 */
function sourceLocation(root) {
  return {
    name: 'source-location',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        if (!resolve(args.path).startsWith(resolve(root))) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
      });
    },
  };
}
