import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { createFirestore, type CreateFirestoreOptions } from '../store/firestore.js';
import { readEmulatorEndpoint } from './local-endpoint.js';

/** A Firestore client for backup and restore: integers read as BigInt, so int64 values are exact. */
export function backupFirestore(opts: CreateFirestoreOptions): Firestore {
  const db = createFirestore(opts);
  db.settings({ useBigInt: true });
  return db;
}

export interface OpenedDatabase {
  db(databaseId: string): Firestore;
  /** Where the data is: the running stack's emulator, the data folder, or Firestore. */
  describe: string;
  close(): Promise<void>;
}

/**
 * Firestore for the CLI's backup commands. Production: real Firestore (application default
 * credentials). Local: the running stack's emulator if one serves this data folder, else the
 * embedded emulator started on the folder for the duration of the command.
 */
export async function openDatabases(config: Config, logger: Logger): Promise<OpenedDatabase> {
  const clients: Firestore[] = [];
  const make = (emulatorHost?: string) => (databaseId: string) => {
    const db = backupFirestore({ projectId: config.projectId, databaseId, ...(emulatorHost ? { emulatorHost } : {}) });
    clients.push(db);
    return db;
  };
  const closeClients = async () => {
    await Promise.all(clients.map((c) => c.terminate()));
  };
  if (config.adapters.store === 'firestore') return { db: make(), describe: `Firestore project ${config.projectId}`, close: closeClients };
  const running = readEmulatorEndpoint(config.dataDir);
  if (running) return { db: make(`${running.host}:${running.port}`), describe: `the running local stack (pid ${running.pid})`, close: closeClients };
  // The embedded emulator is a local stand-in: loaded only here, never in a production bundle.
  const { LocalFirestoreServer } = await import('../store/emulator-server.js');
  const server = new LocalFirestoreServer({ dataDir: config.dataDir, logger });
  const { host, port } = await server.start(0);
  return {
    db: make(`${host}:${port}`),
    describe: `the local data folder ${config.dataDir}`,
    async close() {
      await closeClients();
      await server.stop();
    },
  };
}
