import type * as FirestorePackage from '@google-cloud/firestore';
import type { Firestore, Settings } from '@google-cloud/firestore';
import { createRequire } from 'node:module';
import { z } from 'zod';

const requireHere = createRequire(import.meta.url);
let loaded: typeof FirestorePackage | undefined;

/**
 * `@google-cloud/firestore`, loaded on first use: it costs ~200 ms and ~35 MiB at start-up, which
 * a health check or an acknowledged malformed event never needs. Synchronously, because creating a
 * client is synchronous for every caller; the package is CommonJS, so `require` gives the very
 * module object an `import` would. Use this for values too (`firestorePackage().FieldValue`).
 */
export function firestorePackage(): typeof FirestorePackage {
  return (loaded ??= requireHere('@google-cloud/firestore') as typeof FirestorePackage);
}

/**
 * Never called: this `import()` is how the bundler sees the dependency behind the `require`
 * above (scripts/build-functions.mjs lists a bundle's packages from esbuild's metafile).
 */
export const declareFirestoreDependency = () => import('@google-cloud/firestore');

/**
 * The one place that builds the Firestore client, for production and for the local emulator
 * (LocalFirestoreServer). The package loads with the first client (see `firestorePackage`); the
 * client itself connects lazily. Call `terminate()` when done (tests, shutdown).
 *
 * Note: the client lets the FIRESTORE_EMULATOR_HOST environment variable override `host`
 * whatever is passed here, so config must not let that variable through in production.
 */
const optionsSchema = z.object({
  projectId: z.string().min(1),
  databaseId: z.string().min(1).optional(),
  /** `host:port` of a LocalFirestoreServer; absent = real Firestore with default credentials. */
  emulatorHost: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'emulatorHost must be host:port')
    .optional(),
});
export type CreateFirestoreOptions = z.input<typeof optionsSchema>;

export function createFirestore(opts: CreateFirestoreOptions): Firestore {
  const { projectId, databaseId, emulatorHost } = optionsSchema.parse(opts);
  const settings: Settings = { projectId, ...(databaseId ? { databaseId } : {}) };
  const { Firestore } = firestorePackage();
  if (!emulatorHost) return new Firestore(settings);
  const sep = emulatorHost.lastIndexOf(':');
  return new Firestore({
    ...settings,
    host: emulatorHost.slice(0, sep),
    port: Number(emulatorHost.slice(sep + 1)),
    ssl: false,
    // As the official emulator expects; also tells the client not to fetch real credentials.
    customHeaders: { Authorization: 'Bearer owner' },
    preferRest: false,
    // Without it the client probes the GCE metadata server for the universe domain on first use.
    universeDomain: 'googleapis.com',
  });
}
