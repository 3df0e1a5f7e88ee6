import type { Firestore, Settings } from '@google-cloud/firestore';
import { lazyPackage } from '../platform/lazy-package.js';
import { z } from 'zod';

/**
 * The one place that builds the Firestore client, for production and for the local emulator
 * (LocalFirestoreServer). Importing this module loads `@google-cloud/firestore`: composition
 * roots should `await import()` it on first use and cache the instance they create; the client
 * itself connects lazily. Call `terminate()` when done (tests, shutdown).
 *
 * Note: the client lets the FIRESTORE_EMULATOR_HOST environment variable override `host`
 * whatever is passed here, so config must not let that variable through in production.
 */
/** The client library, loaded by the first client made (~180 ms and ~30 MiB of a cold start otherwise). */
export const firestorePackage = lazyPackage<typeof import('@google-cloud/firestore')>('@google-cloud/firestore');

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
  if (!emulatorHost) return new (firestorePackage().Firestore)(settings);
  const sep = emulatorHost.lastIndexOf(':');
  return new (firestorePackage().Firestore)({
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
