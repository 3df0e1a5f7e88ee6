import { Server, ServerCredentials } from '@grpc/grpc-js';
import { z } from 'zod';
import { systemClock, type Clock } from '../platform/clock.js';
import { Logger, rootLogger } from '../platform/logger.js';
import { DocumentLog } from './emulator/document-log.js';
import { DocumentStore } from './emulator/document-store.js';
import { commitErasesPersonalData } from './emulator/erasure-compaction.js';
import { checkQueryIndexes, loadIndexFile } from './emulator/indexes.js';
import { ListenHub } from './emulator/listen.js';
import { tsToProto } from './emulator/proto.js';
import { loadServiceDefinition } from './emulator/protocol.js';
import { FirestoreService } from './emulator/service.js';
import { TransactionRegistry } from './emulator/transactions.js';

/**
 * The local stand-in for Firestore: an in-process gRPC server that the real
 * `@google-cloud/firestore` client talks to (see firestore.ts), persisted under
 * `<dataDir>/firestore/`. Uses the protocol layer of `@firestore-emulator/server`
 * (`@firestore-emulator/proto`) with our own store, so that transactions are isolated,
 * preconditions enforced, commits atomic and durable, and writes and queries behave as in
 * Firestore. Why, and what is supported: docs/decisions/0002-local-firestore-emulator.md.
 */
const optionsSchema = z.object({
  dataDir: z.string().min(1),
  logger: z.instanceof(Logger).optional(),
  clock: z.custom<Clock>((v) => typeof (v as Clock | undefined)?.now === 'function', 'clock must have now()').optional(),
  /** Snapshot + empty the log after this many logged commits. */
  compactEvery: z.number().int().positive().default(5000),
  /**
   * Compact right after a commit that erases personal data (emulator/erasure-compaction.ts), so
   * the files keep no earlier version of what an erasure replaced. On by default.
   */
  compactAfterErasure: z.boolean().default(true),
  /** fdatasync every commit: survives OS crashes and power loss too, not only a killed process. */
  syncEveryCommit: z.boolean().default(false),
  /** Open transactions older than this are forgotten (Firestore's limit is 270 s). */
  transactionTimeoutMs: z.number().int().positive().default(270_000),
  /**
   * Composite-index file (Firebase CLI format) to enforce like Firestore does: a query no listed
   * index serves fails with FAILED_PRECONDITION. The local stack passes the project's file
   * (PROJECT_INDEX_FILE, the one Terraform applies); absent = no enforcement.
   */
  indexes: z.string().min(1).optional(),
});
export type LocalFirestoreServerOptions = z.input<typeof optionsSchema>;

const portSchema = z.number().int().min(0).max(65535);
const HOST = '127.0.0.1';
const SHUTDOWN_GRACE_MS = 2000;

interface Running {
  grpc: Server;
  service: FirestoreService;
  listeners: ListenHub;
  store: DocumentStore;
  log: DocumentLog;
  port: number;
}

export class LocalFirestoreServer {
  private readonly opts: z.output<typeof optionsSchema>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private running: Running | undefined;
  /** Set by a commit that erased personal data: the next housekeeping compacts whatever the log holds. */
  private compactionDue = false;

  constructor(opts: LocalFirestoreServerOptions) {
    this.opts = optionsSchema.parse(opts);
    this.logger = this.opts.logger ?? rootLogger.child({ component: 'local-firestore' });
    this.clock = this.opts.clock ?? systemClock;
  }

  /** Loads the data and listens on 127.0.0.1 (port 0 = any free port). */
  async start(port = 0): Promise<{ host: string; port: number }> {
    if (this.running) throw new Error('LocalFirestoreServer is already started.');
    portSchema.parse(port);
    const definition = loadServiceDefinition();
    const indexes = this.opts.indexes ? loadIndexFile(this.opts.indexes) : undefined;
    const log = new DocumentLog(this.opts.dataDir, this.logger, this.opts.syncEveryCommit);
    const loaded = log.open();
    try {
      const store = new DocumentStore();
      for (const doc of loaded.docs.values()) store.put(doc);
      const listeners = new ListenHub(store, () => tsToProto(service.readTime()), this.logger);
      const service: FirestoreService = new FirestoreService({
        store,
        transactions: new TransactionRegistry(this.clock, this.opts.transactionTimeoutMs),
        log,
        clock: this.clock,
        logger: this.logger,
        lastSeq: loaded.lastSeq,
        lastCommitMs: loaded.lastCommitMs,
        listen: (call) => listeners.serve(call),
        onApplied: (names) => listeners.notify(names),
        onCommitted: (changes) => {
          if (this.opts.compactAfterErasure && commitErasesPersonalData(changes)) this.compactionDue = true;
        },
        afterCommit: () => this.maybeCompact(),
        ...(indexes ? { checkIndexes: (spec) => checkQueryIndexes(spec, indexes) } : {}),
      });
      const grpc = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': -1 });
      grpc.addService(definition, service.handlers());
      const bound = await new Promise<number>((resolve, reject) =>
        grpc.bindAsync(`${HOST}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
      this.running = { grpc, service, listeners, store, log, port: bound };
      this.logger.info('local firestore started', { port: bound, documents: store.size, wal_records: log.walRecords });
      return { host: HOST, port: bound };
    } catch (err) {
      log.close();
      throw err;
    }
  }

  /** Writes a snapshot of all documents and empties the write-ahead log. */
  async compact(): Promise<void> {
    const r = this.running;
    if (!r) throw new Error('LocalFirestoreServer is not started.');
    const documents = r.log.compact(r.store.all(), r.service.lastSeq, r.service.lastCommitMs);
    this.logger.debug('local firestore compacted', { documents });
  }

  /** Stops serving, compacts and releases the data directory. */
  async stop(): Promise<void> {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    r.listeners.closeAll();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        r.grpc.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      r.grpc.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      r.log.compact(r.store.all(), r.service.lastSeq, r.service.lastCommitMs);
    } finally {
      r.log.close();
    }
    this.logger.info('local firestore stopped', { port: r.port, documents: r.store.size });
  }

  stats(): { documents: number; walRecords: number } {
    const r = this.running;
    return { documents: r?.store.size ?? 0, walRecords: r?.log.walRecords ?? 0 };
  }

  private maybeCompact(): void {
    const r = this.running;
    if (!r || (!this.compactionDue && r.log.walRecords < this.opts.compactEvery)) return;
    try {
      r.log.compact(r.store.all(), r.service.lastSeq, r.service.lastCommitMs);
      this.compactionDue = false;
    } catch (err) {
      // The commit is already durable in the log; compaction will be retried after the next one.
      this.logger.error('local firestore compaction failed', err);
    }
  }
}
