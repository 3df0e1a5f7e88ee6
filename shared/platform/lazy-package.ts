import { createRequire } from 'node:module';

/**
 * Heavy CommonJS packages loaded on first use instead of at import, so an instance's cold start
 * pays only for what its first request needs (a function that never parses SQL never loads the
 * parser; /healthz loads no Firestore client). Synchronous, so call sites stay as they were.
 * scripts/build-functions.mjs lists every package named in a `lazyPackage(...)` call that survives
 * tree-shaking as a dependency of the bundle (the bundler cannot see these requires).
 */
export type LazyPackageName = '@google-cloud/firestore' | 'sql-parser-cst';

const requireHere = createRequire(import.meta.url);

export function lazyPackage<T>(name: LazyPackageName): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(name) as T);
}
