import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  ListenResponse,
  TargetChange,
  TargetChangeTargetChangeType as ChangeType,
  type ListenRequest,
  type Target as TargetProto,
} from '@firestore-emulator/proto/dist/google/firestore/v1/firestore.js';
import { DocumentChange } from '@firestore-emulator/proto/dist/google/firestore/v1/write.js';
import { Status as StatusProto } from '@firestore-emulator/proto/dist/google/rpc/status.js';
import type { Timestamp } from '@firestore-emulator/proto/dist/google/protobuf/timestamp.js';
import type { Logger } from '../../platform/logger.js';
import type { DocumentStore } from './document-store.js';
import { checkDocumentName, docToProto, querySpecFromProto } from './proto.js';
import { RpcError, Status } from './rpc-error.js';
import type { StoredDoc } from './values.js';

/**
 * Listen (`onSnapshot`) over our own store and query engine. Simple protocol, as the package
 * had: on every committed change that may affect a target, the target's full result is sent
 * again after a RESET (the client diffs it), then CURRENT and a global NO_CHANGE with the read
 * time. No resume tokens: a reconnecting client simply gets everything again.
 */
type Call = ServerDuplexStream<ListenRequest, ListenResponse>;

interface Target {
  call: Call;
  id: number;
  results(): StoredDoc[];
  mayChange(name: string): boolean;
  signature: string;
}

const parentOf = (name: string): string => name.slice(0, name.lastIndexOf('/'));

export class ListenHub {
  private readonly targets = new Set<Target>();
  private readonly calls = new Set<Call>();

  constructor(
    private readonly store: DocumentStore,
    private readonly readTime: () => Timestamp,
    private readonly logger: Logger,
  ) {}

  /** Serves one Listen stream until the client closes it. */
  serve(call: Call): void {
    const own = new Map<number, Target>();
    this.calls.add(call);
    const drop = () => {
      for (const t of own.values()) this.targets.delete(t);
      own.clear();
      this.calls.delete(call);
    };
    call.on('data', (req: ListenRequest) => {
      if (req.has_add_target) this.add(call, req.add_target, own);
      else if (req.has_remove_target) {
        const t = own.get(req.remove_target);
        if (t) this.targets.delete(t);
        own.delete(req.remove_target);
        call.write(change(ChangeType.REMOVE, [req.remove_target]));
      }
    });
    call.on('end', () => {
      drop();
      call.end();
    });
    call.on('cancelled', drop);
    call.on('close', drop);
  }

  /** Ends every open stream (server shutdown); clients reconnect or report the outage. */
  closeAll(): void {
    for (const call of this.calls) call.end();
    this.calls.clear();
    this.targets.clear();
  }

  /** After a commit is applied: resend every target whose result may have changed and did. */
  notify(changedNames: Iterable<string>): void {
    if (this.targets.size === 0) return;
    const names = [...changedNames];
    for (const t of this.targets) {
      if (t.call.cancelled || !t.call.writable) {
        this.targets.delete(t);
        continue;
      }
      if (names.some((n) => t.mayChange(n))) this.send(t, false);
    }
  }

  private add(call: Call, proto: TargetProto, own: Map<number, Target>): void {
    const id = proto.target_id;
    let target: Target;
    try {
      target = { call, id, signature: '', ...this.selector(proto) };
    } catch (err) {
      const { code, details } = err instanceof RpcError ? err : { code: Status.INTERNAL, details: 'Internal error in the local Firestore emulator.' };
      if (!(err instanceof RpcError)) this.logger.error('local firestore listen target failed', err);
      // Firestore reports a bad target as its removal with a cause; the client surfaces it to onError.
      call.write(new ListenResponse({ target_change: new TargetChange({ target_change_type: ChangeType.REMOVE, target_ids: [id], cause: new StatusProto({ code, message: details }) }) }));
      return;
    }
    own.set(id, target);
    this.targets.add(target);
    this.send(target, true);
  }

  private selector(proto: TargetProto): Pick<Target, 'results' | 'mayChange'> {
    if (proto.has_documents) {
      const names = proto.documents.documents.map(checkDocumentName);
      const set = new Set(names);
      return {
        results: () => names.map((n) => this.store.get(n)).filter((d): d is StoredDoc => d !== undefined),
        mayChange: (n) => set.has(n),
      };
    }
    if (proto.has_query && proto.query.has_structured_query) {
      const spec = querySpecFromProto(proto.query.parent, proto.query.structured_query);
      const collection = `${spec.parent}/${spec.collectionId}`;
      return {
        results: () => this.store.query(spec),
        mayChange: spec.allDescendants
          ? (n) => n.startsWith(`${spec.parent}/`) && parentOf(n).endsWith(`/${spec.collectionId}`)
          : (n) => parentOf(n) === collection,
      };
    }
    throw new RpcError(Status.INVALID_ARGUMENT, 'A listen target needs documents or a structured query.');
  }

  private send(t: Target, initial: boolean): void {
    const docs = t.results();
    const signature = this.store.signature(docs);
    if (!initial && signature === t.signature) return;
    t.signature = signature;
    const readTime = this.readTime();
    t.call.write(change(initial ? ChangeType.ADD : ChangeType.RESET, [t.id]));
    for (const d of docs) t.call.write(new ListenResponse({ document_change: new DocumentChange({ document: docToProto(d), target_ids: [t.id] }) }));
    t.call.write(change(ChangeType.CURRENT, [t.id], readTime));
    t.call.write(change(ChangeType.NO_CHANGE, [], readTime));
  }
}

const change = (type: ChangeType, ids: number[], readTime?: Timestamp): ListenResponse =>
  new ListenResponse({ target_change: new TargetChange({ target_change_type: type, target_ids: ids, ...(readTime ? { read_time: readTime } : {}) }) });
