import { runQuery, type QuerySpec } from './query.js';
import { applyWrite, type WriteOp } from './writes.js';
import type { FsValue, StoredDoc, Ts } from './values.js';

/**
 * The committed documents, in memory, with a version per document for transaction validation
 * and an index of each collection's documents for queries. No I/O: the server decides when a
 * prepared commit is logged and applied.
 */
export interface PreparedCommit {
  /** Final state per touched document (undefined = deleted), in first-touch order. */
  changes: Map<string, StoredDoc | undefined>;
  results: { updateTime: Ts; transformResults: FsValue[] }[];
}

const parentOf = (name: string): string => name.slice(0, name.lastIndexOf('/'));

export class DocumentStore {
  /** Versions come from one counter, so a deleted and re-created document never repeats one. */
  private readonly docs = new Map<string, { doc: StoredDoc; version: number }>();
  private readonly byCollection = new Map<string, Set<string>>();
  private versionSeq = 0;

  get size(): number {
    return this.docs.size;
  }

  get(name: string): StoredDoc | undefined {
    return this.docs.get(name)?.doc;
  }

  version(name: string): number {
    return this.docs.get(name)?.version ?? 0;
  }

  all(): IterableIterator<StoredDoc> {
    return (function* (docs) {
      for (const e of docs.values()) yield e.doc;
    })(this.docs);
  }

  /** Documents a query can see: one collection, or (collection group) that id anywhere under parent. */
  candidates(spec: Pick<QuerySpec, 'parent' | 'collectionId' | 'allDescendants'>): StoredDoc[] {
    const out: StoredDoc[] = [];
    const take = (names: Set<string>) => {
      for (const n of names) out.push(this.docs.get(n)!.doc);
    };
    if (!spec.allDescendants) {
      const names = this.byCollection.get(`${spec.parent}/${spec.collectionId}`);
      if (names) take(names);
      return out;
    }
    const prefix = `${spec.parent}/`;
    for (const [collection, names] of this.byCollection) {
      if (collection.startsWith(prefix) && collection.slice(collection.lastIndexOf('/') + 1) === spec.collectionId) take(names);
    }
    return out;
  }

  /**
   * Ids of the collections directly under `parent` (the database root `…/documents` or a
   * document name) that hold a document at any depth, as Firestore's ListCollectionIds answers;
   * the parent document itself need not exist.
   */
  collectionIds(parent: string): string[] {
    const prefix = `${parent}/`;
    const ids = new Set<string>();
    for (const collection of this.byCollection.keys()) {
      if (!collection.startsWith(prefix)) continue;
      const rest = collection.slice(prefix.length);
      const cut = rest.indexOf('/');
      ids.add(cut < 0 ? rest : rest.slice(0, cut));
    }
    return [...ids].sort();
  }

  /**
   * Names of the documents in one collection, sorted; with `showMissing`, also the names of
   * documents that do not exist but have subcollections (ListDocuments `show_missing`).
   */
  documentNames(collection: string, showMissing: boolean): string[] {
    const names = new Set(this.byCollection.get(collection) ?? []);
    if (showMissing) {
      const prefix = `${collection}/`;
      for (const other of this.byCollection.keys()) {
        if (!other.startsWith(prefix)) continue;
        const rest = other.slice(prefix.length);
        const cut = rest.indexOf('/');
        if (cut > 0) names.add(prefix + rest.slice(0, cut));
      }
    }
    return [...names].sort();
  }

  query(spec: QuerySpec): StoredDoc[] {
    return runQuery(this.candidates(spec), spec);
  }

  /** What a transaction remembers about a query result: which documents, at which versions. */
  signature(docs: readonly StoredDoc[]): string {
    return docs.map((d) => `${d.name}@${this.version(d.name)}`).join('\n');
  }

  /**
   * Evaluates all writes in order against the committed state plus the earlier writes of the
   * same commit. Throws (precondition, invalid argument) before anything is changed.
   */
  prepare(writes: readonly WriteOp[], commitTime: Ts): PreparedCommit {
    const changes = new Map<string, StoredDoc | undefined>();
    const changed = new Set<string>();
    const results: PreparedCommit['results'] = [];
    for (const op of writes) {
      const current = changes.has(op.name) ? changes.get(op.name) : this.get(op.name);
      const outcome = applyWrite(current, op, commitTime);
      changes.set(op.name, outcome.doc);
      if (outcome.changed) changed.add(op.name);
      results.push({ updateTime: outcome.updateTime, transformResults: outcome.transformResults });
    }
    for (const name of changes.keys()) if (!changed.has(name)) changes.delete(name);
    return { changes, results };
  }

  /** Makes a prepared (and logged) commit visible. Cannot fail. */
  apply(changes: ReadonlyMap<string, StoredDoc | undefined>): void {
    for (const [name, doc] of changes) {
      if (doc) this.put(doc);
      else this.remove(name);
    }
  }

  put(doc: StoredDoc): void {
    const version = ++this.versionSeq;
    if (!this.docs.has(doc.name)) {
      const collection = parentOf(doc.name);
      let names = this.byCollection.get(collection);
      if (!names) this.byCollection.set(collection, (names = new Set()));
      names.add(doc.name);
    }
    this.docs.set(doc.name, { doc, version });
  }

  private remove(name: string): void {
    if (!this.docs.delete(name)) return;
    const collection = parentOf(name);
    const names = this.byCollection.get(collection);
    names?.delete(name);
    if (names?.size === 0) this.byCollection.delete(collection);
  }
}
