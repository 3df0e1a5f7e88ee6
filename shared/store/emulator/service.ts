import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall, ServerWritableStream, StatusObject, UntypedServiceImplementation } from '@grpc/grpc-js';
import { AggregationResult } from '@firestore-emulator/proto/dist/google/firestore/v1/aggregation_result.js';
import {
  BatchGetDocumentsResponse,
  BatchWriteResponse,
  BeginTransactionResponse,
  CommitResponse,
  ListCollectionIdsResponse,
  ListDocumentsResponse,
  RunAggregationQueryResponse,
  RunQueryResponse,
  type BatchGetDocumentsRequest,
  type BatchWriteRequest,
  type BeginTransactionRequest,
  type ListCollectionIdsRequest,
  type ListDocumentsRequest,
  type CommitRequest,
  type ListenRequest,
  type ListenResponse,
  type RollbackRequest,
  type RunAggregationQueryRequest,
  type RunQueryRequest,
} from '@firestore-emulator/proto/dist/google/firestore/v1/firestore.js';
import type { TransactionOptions } from '@firestore-emulator/proto/dist/google/firestore/v1/common.js';
import { Document } from '@firestore-emulator/proto/dist/google/firestore/v1/document.js';
import { WriteResult } from '@firestore-emulator/proto/dist/google/firestore/v1/write.js';
import { Status as RpcStatus } from '@firestore-emulator/proto/dist/google/rpc/status.js';
import { Empty } from '@firestore-emulator/proto/dist/google/protobuf/empty.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import type { DocumentLog } from './document-log.js';
import type { DocumentStore } from './document-store.js';
import {
  aggregationsFromProto,
  checkDocumentName,
  docToProto,
  fieldsToProto,
  maskFromProto,
  querySpecFromProto,
  tsToProto,
  valueToProto,
  writeFromProto,
} from './proto.js';
import { aggregate, type QuerySpec } from './query.js';
import { RpcError, Status, unsupported } from './rpc-error.js';
import { recordRead, validateReadSet, type Transaction, type TransactionRegistry } from './transactions.js';
import { tsFromMillis, type FsValue, type StoredDoc, type Ts } from './values.js';
import type { WriteOp } from './writes.js';

/**
 * The Firestore v1 gRPC methods the app's client uses, implemented over DocumentStore with
 * transactions, preconditions, atomic commits and the write-ahead log. Methods not listed in
 * `handlers()` answer UNIMPLEMENTED (grpc-js default). ListCollectionIds and ListDocuments answer
 * in one page; BatchWrite applies each write as its own commit.
 */
export interface ServiceDeps {
  store: DocumentStore;
  transactions: TransactionRegistry;
  log: DocumentLog;
  clock: Clock;
  logger: Logger;
  lastSeq: number;
  lastCommitMs: number;
  /** Called with the names of the documents a commit changed, once the change is visible. */
  onApplied?: (names: Iterable<string>) => void;
  /** Called with what a commit changed (final state per document, undefined = deleted), once logged and visible. */
  onCommitted?: (changes: ReadonlyMap<string, StoredDoc | undefined>) => void;
  listen?: (call: ServerDuplexStream<ListenRequest, ListenResponse>) => void;
  /** Called after every Commit call has been answered (housekeeping such as compaction). */
  afterCommit?: () => void;
  /** Rejects a query no listed index serves (FAILED_PRECONDITION), as Firestore does. */
  checkIndexes?: (spec: QuerySpec) => void;
}

type Selector = 'none' | 'read_time' | 'transaction' | 'new_transaction';

export class FirestoreService {
  lastSeq: number;
  lastCommitMs: number;

  constructor(private readonly deps: ServiceDeps) {
    this.lastSeq = deps.lastSeq;
    this.lastCommitMs = deps.lastCommitMs;
  }

  /** The implementation object for `grpc.Server.addService`. */
  handlers(): UntypedServiceImplementation {
    const h: UntypedServiceImplementation = {
      BatchGetDocuments: (call: ServerWritableStream<BatchGetDocumentsRequest, BatchGetDocumentsResponse>) => this.stream(call, () => this.batchGet(call.request)),
      RunQuery: (call: ServerWritableStream<RunQueryRequest, RunQueryResponse>) => this.stream(call, () => this.runQuery(call.request)),
      RunAggregationQuery: (call: ServerWritableStream<RunAggregationQueryRequest, RunAggregationQueryResponse>) =>
        this.stream(call, () => this.runAggregation(call.request)),
      BeginTransaction: (call: ServerUnaryCall<BeginTransactionRequest, BeginTransactionResponse>, cb: sendUnaryData<BeginTransactionResponse>) =>
        this.unary(cb, () => new BeginTransactionResponse({ transaction: this.deps.transactions.begin(isReadOnly(call.request.has_options ? call.request.options : undefined)).id })),
      Commit: (call: ServerUnaryCall<CommitRequest, CommitResponse>, cb: sendUnaryData<CommitResponse>) => {
        this.unary(cb, () => this.commit(call.request));
        this.deps.afterCommit?.();
      },
      // Listing and BatchWrite (BulkWriter) serve the logical backup and restore (shared/backup/).
      ListCollectionIds: (call: ServerUnaryCall<ListCollectionIdsRequest, ListCollectionIdsResponse>, cb: sendUnaryData<ListCollectionIdsResponse>) =>
        this.unary(cb, () => new ListCollectionIdsResponse({ collection_ids: this.deps.store.collectionIds(checkParent(call.request.parent)), next_page_token: '' })),
      ListDocuments: (call: ServerUnaryCall<ListDocumentsRequest, ListDocumentsResponse>, cb: sendUnaryData<ListDocumentsResponse>) =>
        this.unary(cb, () => this.listDocuments(call.request)),
      BatchWrite: (call: ServerUnaryCall<BatchWriteRequest, BatchWriteResponse>, cb: sendUnaryData<BatchWriteResponse>) => {
        this.unary(cb, () => this.batchWrite(call.request));
        this.deps.afterCommit?.();
      },
      Rollback: (call: ServerUnaryCall<RollbackRequest, Empty>, cb: sendUnaryData<Empty>) =>
        this.unary(cb, () => {
          this.deps.transactions.discard(call.request.transaction);
          return new Empty();
        }),
    };
    const listen = this.deps.listen;
    if (listen) h.Listen = (call: ServerDuplexStream<ListenRequest, ListenResponse>) => listen(call);
    return h;
  }

  /** Never before the last commit, so a snapshot's read time covers every write it shows. */
  readTime(): Ts {
    return tsFromMillis(Math.max(this.deps.clock.now().getTime(), this.lastCommitMs));
  }

  // --- reads ----------------------------------------------------------------------------------

  private batchGet(req: BatchGetDocumentsRequest): BatchGetDocumentsResponse[] {
    const names = req.documents.map(checkDocumentName);
    const mask = req.has_mask ? maskFromProto(req.mask) : undefined;
    return this.inReadTransaction(req.consistency_selector as Selector, req, (tx, readTime) => {
      const out: BatchGetDocumentsResponse[] = [];
      for (const name of names) {
        const doc = this.deps.store.get(name);
        if (tx) recordRead(tx, name, this.deps.store.version(name));
        out.push(doc ? new BatchGetDocumentsResponse({ found: docToProto(doc, mask), read_time: readTime }) : new BatchGetDocumentsResponse({ missing: name, read_time: readTime }));
      }
      return out;
    }, (id) => new BatchGetDocumentsResponse({ transaction: id }));
  }

  private runQuery(req: RunQueryRequest): RunQueryResponse[] {
    if (req.has_explain_options) throw unsupported('query explain');
    if (!req.has_structured_query) throw new RpcError(Status.INVALID_ARGUMENT, 'RunQuery needs a structured query.');
    const spec = querySpecFromProto(req.parent, req.structured_query);
    this.deps.checkIndexes?.(spec);
    return this.inReadTransaction(req.consistency_selector as Selector, req, (tx, readTime) => {
      const docs = this.queryInTransaction(tx, spec);
      return [
        ...docs.map((d) => new RunQueryResponse({ document: docToProto(d), read_time: readTime, skipped_results: 0 })),
        new RunQueryResponse({ read_time: readTime, done: true }),
      ];
    }, (id) => new RunQueryResponse({ transaction: id }));
  }

  private runAggregation(req: RunAggregationQueryRequest): RunAggregationQueryResponse[] {
    if (req.has_explain_options) throw unsupported('query explain');
    if (!req.has_structured_aggregation_query) throw new RpcError(Status.INVALID_ARGUMENT, 'RunAggregationQuery needs a structured aggregation query.');
    const aq = req.structured_aggregation_query;
    const spec = querySpecFromProto(req.parent, aq.structured_query);
    this.deps.checkIndexes?.(spec);
    const aggregations = aggregationsFromProto(aq);
    return this.inReadTransaction(req.consistency_selector as Selector, req, (tx, readTime) => {
      const result = aggregate(this.queryInTransaction(tx, spec), aggregations);
      return [new RunAggregationQueryResponse({ result: new AggregationResult({ aggregate_fields: fieldsToProto(result) }), read_time: readTime })];
    }, (id) => new RunAggregationQueryResponse({ transaction: id }));
  }

  /** All in one page; only names are returned (the client asks with an empty mask). */
  private listDocuments(req: ListDocumentsRequest): ListDocumentsResponse {
    if (req.consistency_selector === 'transaction') throw unsupported('ListDocuments in a transaction');
    if (!req.collection_id) throw new RpcError(Status.INVALID_ARGUMENT, 'ListDocuments needs a collection id.');
    const collection = `${checkParent(req.parent)}/${req.collection_id}`;
    const mask = req.has_mask ? maskFromProto(req.mask) : undefined;
    const documents = this.deps.store.documentNames(collection, req.show_missing).map((name) => {
      const doc = this.deps.store.get(name);
      return doc ? docToProto(doc, mask) : new Document({ name });
    });
    return new ListDocumentsResponse({ documents, next_page_token: '' });
  }

  private queryInTransaction(tx: Transaction | undefined, spec: QuerySpec): StoredDoc[] {
    const docs = this.deps.store.query(spec);
    if (tx && !tx.readOnly) tx.queries.push({ spec, signature: this.deps.store.signature(docs) });
    return docs;
  }

  /**
   * Resolves the read's transaction (existing, or new when the client starts one lazily with
   * its first read) and puts the new id in the first response, as Firestore does. Reads with a
   * `read_time` see the current data: there are no old versions to read.
   */
  private inReadTransaction<T extends { transaction: Uint8Array }>(
    selector: Selector,
    req: { transaction: Uint8Array; new_transaction: TransactionOptions },
    read: (tx: Transaction | undefined, readTime: ReturnType<typeof tsToProto>) => T[],
    txMessage: (id: Uint8Array) => T,
  ): T[] {
    const readTime = tsToProto(this.readTime());
    if (selector === 'transaction') return read(this.deps.transactions.get(req.transaction), readTime);
    if (selector !== 'new_transaction') return read(undefined, readTime);
    const tx = this.deps.transactions.begin(isReadOnly(req.new_transaction));
    try {
      const out = read(tx, readTime);
      if (out[0]) out[0].transaction = tx.id;
      else out.push(txMessage(tx.id));
      return out;
    } catch (err) {
      this.deps.transactions.discard(tx.id);
      throw err;
    }
  }

  // --- commit -----------------------------------------------------------------------------------

  private commit(req: CommitRequest): CommitResponse {
    const { store, transactions } = this.deps;
    const ops = req.writes.map(writeFromProto);
    if (req.transaction.length > 0) {
      const tx = transactions.finish(req.transaction);
      if (tx.readOnly && ops.length > 0) throw new RpcError(Status.INVALID_ARGUMENT, 'Cannot modify entities in a read-only transaction.');
      validateReadSet(tx, (name) => store.version(name), (spec) => store.signature(store.query(spec)));
    }
    const { commitTime, results } = this.applyAtomically(ops);
    return new CommitResponse({
      commit_time: tsToProto(commitTime),
      write_results: results.map((r) => new WriteResult({ update_time: tsToProto(r.updateTime), transform_results: r.transformResults.map(valueToProto) })),
    });
  }

  /** Firestore's BatchWrite: each write applied on its own (not atomic), one status per write. */
  private batchWrite(req: BatchWriteRequest): BatchWriteResponse {
    const write_results: WriteResult[] = [];
    const status: RpcStatus[] = [];
    for (const w of req.writes) {
      try {
        const { results } = this.applyAtomically([writeFromProto(w)]);
        const r = results[0]!;
        write_results.push(new WriteResult({ update_time: tsToProto(r.updateTime), transform_results: r.transformResults.map(valueToProto) }));
        status.push(new RpcStatus({ code: 0, message: '' }));
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        write_results.push(new WriteResult());
        status.push(new RpcStatus({ code: err.code, message: err.details }));
      }
    }
    return new BatchWriteResponse({ write_results, status });
  }

  /** Evaluates, logs, then applies: all writes or none. */
  private applyAtomically(ops: readonly WriteOp[]): { commitTime: Ts; results: { updateTime: Ts; transformResults: FsValue[] }[] } {
    const { store, log } = this.deps;
    // Strictly increasing, so every commit has its own update time even within one millisecond.
    const commitMs = Math.max(this.deps.clock.now().getTime(), this.lastCommitMs + 1);
    this.lastCommitMs = commitMs;
    const commitTime = tsFromMillis(commitMs);
    const { changes, results } = store.prepare(ops, commitTime);
    if (changes.size > 0) {
      const puts: StoredDoc[] = [];
      const deletes: string[] = [];
      for (const [name, doc] of changes) {
        if (doc) puts.push(doc);
        else deletes.push(name);
      }
      try {
        log.append({ seq: this.lastSeq + 1, commitMs, puts, deletes });
      } catch (err) {
        this.deps.logger.error('local firestore could not persist a commit', err);
        throw new RpcError(Status.UNAVAILABLE, 'The local Firestore emulator could not persist the commit; nothing was written.');
      }
      this.lastSeq++;
      store.apply(changes);
      this.deps.onApplied?.(changes.keys());
      this.deps.onCommitted?.(changes);
    }
    return { commitTime, results };
  }

  // --- plumbing -------------------------------------------------------------------------------

  private unary<T>(cb: sendUnaryData<T>, run: () => T): void {
    let response: T;
    try {
      response = run();
    } catch (err) {
      cb(this.toStatus(err), null);
      return;
    }
    cb(null, response);
  }

  private stream<T>(call: ServerWritableStream<unknown, T>, run: () => T[]): void {
    let messages: T[];
    try {
      messages = run();
    } catch (err) {
      call.emit('error', this.toStatus(err));
      return;
    }
    for (const m of messages) call.write(m);
    call.end();
  }

  private toStatus(err: unknown): Partial<StatusObject> {
    if (err instanceof RpcError) {
      this.deps.logger.debug('local firestore request rejected', { code: err.code, reason: err.details });
      return { code: err.code, details: err.details };
    }
    this.deps.logger.error('local firestore request failed', err);
    return { code: Status.INTERNAL, details: 'Internal error in the local Firestore emulator.' };
  }
}

const PARENT = /^projects\/[^/]+\/databases\/[^/]+\/documents(\/[^/]+\/[^/]+)*$/;
function checkParent(parent: string): string {
  if (!PARENT.test(parent)) throw new RpcError(Status.INVALID_ARGUMENT, `Invalid parent "${parent}".`);
  return parent;
}

const isReadOnly = (options: TransactionOptions | undefined): boolean => options?.mode === 'read_only';
