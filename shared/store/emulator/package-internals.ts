import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { FirestoreServer, type FirestoreState } from '@firestore-emulator/server';
import { UnimplementedFirestoreService } from '@firestore-emulator/proto/dist/google/firestore/v1/firestore.js';
import type { ListenRequest, ListenResponse } from '@firestore-emulator/proto/dist/google/firestore/v1/firestore.js';
import { ConfigError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { Document, fieldsToProto, Write } from './proto.js';
import { Status } from './rpc-error.js';
import { tsToMillis, type StoredDoc } from './values.js';

/**
 * Everything the shim takes from `@firestore-emulator/server` / `@firestore-emulator/proto`, checked
 * at start-up so that an upgrade fails loudly instead of silently changing behaviour:
 * - the generated Firestore v1 messages and gRPC service definition (proto package);
 * - the package's Listen (`onSnapshot`) implementation, reachable only through the private
 *   `server.handlers` map of `FirestoreServer`, and the `FirestoreState` it reads, which we keep
 *   as a mirror of our documents through `writeV1Document` and the public `metadata` field.
 * Reads, queries, transactions and commits do not use the package's state or engine at all.
 */
export const TESTED_EMULATOR_VERSIONS: readonly string[] = ['0.3.15'];

const SERVICE = '/google.firestore.v1.Firestore';
/** Methods served by our service; their definition must exist with these paths. */
export const SERVED_METHODS = ['BatchGetDocuments', 'RunQuery', 'RunAggregationQuery', 'BeginTransaction', 'Commit', 'Rollback', 'Listen'] as const;

type ListenHandler = (call: ServerDuplexStream<ListenRequest, ListenResponse>) => void;

export interface PackageParts {
  definition: typeof UnimplementedFirestoreService.definition;
  listen: ListenHandler;
  mirror: FirestoreState;
}

export function loadPackageParts(): PackageParts {
  const require = createRequire(import.meta.url);
  const fail = (what: string): never => {
    throw new ConfigError(
      `@firestore-emulator/server is not the version the local Firestore shim was verified against (${TESTED_EMULATOR_VERSIONS.join(', ')}): ${what}. ` +
        'Re-check shared/store/emulator against the new package source, run tests/integration/store.*.test.ts, then add the version to TESTED_EMULATOR_VERSIONS.',
    );
  };
  for (const pkg of ['@firestore-emulator/server', '@firestore-emulator/proto']) {
    const { version } = JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version?: unknown };
    if (typeof version !== 'string' || !TESTED_EMULATOR_VERSIONS.includes(version)) fail(`${pkg} is ${String(version)}`);
  }
  const definition = UnimplementedFirestoreService.definition;
  for (const m of SERVED_METHODS) {
    if (definition[m]?.path !== `${SERVICE}/${m}`) fail(`the service definition has no ${m}`);
  }
  const server = new FirestoreServer();
  const handlers = (server as unknown as { server?: { handlers?: unknown } }).server?.handlers;
  const listen = handlers instanceof Map ? (handlers.get(`${SERVICE}/Listen`) as { func?: unknown } | undefined)?.func : undefined;
  if (typeof listen !== 'function') fail('FirestoreServer no longer exposes its Listen handler');
  const state = server.state;
  if (typeof state?.writeV1Document !== 'function' || typeof state.getDocument !== 'function') fail('FirestoreState lost writeV1Document/getDocument');
  return { definition, listen: listen as ListenHandler, mirror: state };
}

/**
 * Runs the package's Listen for one call. Its request handling runs inside a stream event
 * listener, where an exception (e.g. a query shape its engine cannot evaluate) would escape
 * grpc-js and crash the process; here it ends this call with UNIMPLEMENTED instead. Also
 * answers the client's half-close, which the package never does, so the RPC ends cleanly.
 */
export function runPackageListen(listen: ListenHandler, call: ServerDuplexStream<ListenRequest, ListenResponse>, logger: Logger): void {
  call.once('end', () => call.end());
  type Listener = (...args: unknown[]) => void;
  const target = call as unknown as { once: (event: string | symbol, listener: Listener) => unknown };
  const once = target.once;
  target.once = function (this: unknown, event, listener) {
    return once.call(this, event, (...args: unknown[]) => {
      try {
        listener(...args);
      } catch (err) {
        logger.warn('local firestore listener rejected', { error: String(err) });
        call.emit('error', { code: Status.UNIMPLEMENTED, details: `The local Firestore emulator cannot serve this listener (${String(err)}); see docs/decisions/0002-local-firestore-emulator.md.` });
      }
    });
  };
  try {
    listen(call);
  } finally {
    target.once = once;
  }
}

/**
 * Keeps the package's state equal to ours for its Listen implementation. Best effort: a mirror
 * failure only affects listeners, never a commit. Started on the first Listen call.
 */
export class ListenMirror {
  private active = false;

  constructor(
    private readonly state: FirestoreState,
    private readonly logger: Logger,
  ) {}

  activate(all: Iterable<StoredDoc>): void {
    if (this.active) return;
    this.active = true;
    for (const doc of all) this.tryPut(doc);
  }

  apply(changes: ReadonlyMap<string, StoredDoc | undefined>, previous: (name: string) => StoredDoc | undefined): void {
    if (!this.active) return;
    for (const [name, doc] of changes) {
      const before = previous(name);
      // The package's set() keeps fields missing from the new data, so drop the document first when any were removed.
      if (before && (!doc || [...before.fields.keys()].some((k) => !doc.fields.has(k)))) {
        this.attempt(name, () => this.state.writeV1Document(new Date(), new Write({ delete: name })));
      }
      if (doc) this.tryPut(doc);
    }
  }

  private tryPut(doc: StoredDoc): void {
    this.attempt(doc.name, () => {
      const updatedAt = new Date(tsToMillis(doc.updateTime));
      this.state.writeV1Document(updatedAt, new Write({ update: new Document({ name: doc.name, fields: fieldsToProto(doc.fields) }) }));
      this.state.getDocument(doc.name).metadata = { hasExist: true, createdAt: new Date(tsToMillis(doc.createTime)), updatedAt };
    });
  }

  private attempt(name: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.logger.warn('local firestore listen mirror could not apply a change; listeners may miss it', { document: name, error: String(err) });
    }
  }
}
