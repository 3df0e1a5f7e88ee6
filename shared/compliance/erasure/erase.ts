import type { Firestore, QueryDocumentSnapshot } from '@google-cloud/firestore';
import { isIP } from 'node:net';
import type { HoldSet } from '../gate.js';
import { factsOf, type HoldDoc } from '../holds/model.js';
import { HOLDS_COLLECTION } from '../holds/model.js';
import { ERASED, collectTokens, erasedInvestigation, replaceTokens } from '../anonymise.js';
import { BatchWriter } from '../batch-writer.js';
import { eventInvestigation } from '../scan.js';
import type { SubjectCrypto } from '../subject-crypto.js';
import type { StoreCount } from './model.js';
import { envelopeKey } from '../../crypto/envelope.js';
import { PII_FIELDS } from '../../investigations/pii.js';

const COMMENT_BODY = PII_FIELDS.commentBody;

/**
 * Finds and erases one subject's personal data in every Firestore store the platform writes,
 * in two phases: read everything (plan), check holds on all of it, then write in batches.
 * Used by the erasure worker and, after a restore, by the ledger replay. Idempotent.
 *
 * - investigations ABOUT the subject (blind index `subject.index`): personal content removed,
 *   the sealed subject left as ciphertext under a key destroyed afterwards; comments deleted;
 * - investigations about others that MENTION the subject (a token whose blind index, for the
 *   subject's type, is the subject's): only those tokens become "[erased]";
 * - comments, stored API responses (idempotency_keys), webhook delivery logs and attempts, the
 *   outbox: records of erased investigations are deleted, mentions replaced;
 * - released legal holds on the subject lose their masked display form.
 */
export interface SubjectRefIdx {
  index: string;
  type: string;
}

export interface ErasePlan {
  about: QueryDocumentSnapshot[];
  mentions: { doc: QueryDocumentSnapshot; hits: Set<string> }[];
  aboutIds: Set<string>;
  /** Investigations touched (about + mentions + parents of mentioning comments), for the hold check. */
  touched: Map<string, Record<string, unknown>>;
  other: { store: string; doc: QueryDocumentSnapshot; action: 'delete' | 'replace'; hits: Set<string>; sealedBody?: string }[];
  scanned: Record<string, number>;
}

/** A token mentions the subject when its blind index, read as the subject's type, is the subject's. */
export function mentionMatcher(crypto: SubjectCrypto | null, subject: SubjectRefIdx): (tokens: Set<string>) => Promise<Set<string>> {
  return async (tokens) => {
    const hits = new Set<string>();
    if (!crypto) return hits;
    for (const t of tokens) {
      if (subject.type === 'email' && !t.includes('@')) continue;
      if (subject.type === 'ip' && !isIP(t)) continue;
      if (subject.type !== 'email' && t.includes('@')) continue;
      try {
        if ((await crypto.blindIndex({ type: subject.type, value: t })) === subject.index) hits.add(t);
      } catch {
        // Not a valid value of this type.
      }
    }
    return hits;
  };
}

async function pages(db: Firestore, collection: string, visit: (docs: QueryDocumentSnapshot[]) => Promise<void>, group = false): Promise<number> {
  let seen = 0;
  let after: QueryDocumentSnapshot | null = null;
  for (;;) {
    let q = (group ? db.collectionGroup(collection) : db.collection(collection)).limit(1000);
    if (after) q = q.startAfter(after);
    const page = await q.get();
    if (page.empty) return seen;
    seen += page.size;
    await visit(page.docs);
    if (page.size < 1000) return seen;
    after = page.docs[page.docs.length - 1]!;
  }
}


/** Phase 1: read-only. */
export async function planErasure(db: Firestore, crypto: SubjectCrypto | null, subject: SubjectRefIdx): Promise<ErasePlan> {
  const match = mentionMatcher(crypto, subject);
  const plan: ErasePlan = { about: [], mentions: [], aboutIds: new Set(), touched: new Map(), other: [], scanned: {} };
  // About: by blind index (single-field index).
  let after: QueryDocumentSnapshot | null = null;
  for (;;) {
    let q = db.collection('investigations').where('subject.index', '==', subject.index).limit(1000);
    if (after) q = q.startAfter(after);
    const page = await q.get();
    for (const d of page.docs) {
      plan.about.push(d);
      plan.aboutIds.add(d.id);
      plan.touched.set(d.id, d.data());
    }
    if (page.size < 1000) break;
    after = page.docs[page.docs.length - 1]!;
  }
  // Mentions: every other investigation's content, tokenised (the sealed fields are ciphertext).
  plan.scanned.investigations = await pages(db, 'investigations', async (docs) => {
    for (const d of docs) {
      if (plan.aboutIds.has(d.id)) continue;
      const { subject: s, question_sealed: _q, ...content } = d.data();
      const hits = await match(collectTokens(content, collectTokens((s as { value?: unknown })?.value, new Set())));
      if (hits.size) {
        plan.mentions.push({ doc: d, hits });
        plan.touched.set(d.id, d.data());
      }
    }
  });
  plan.scanned.comments = await pages(
    db,
    'comments',
    async (docs) => {
      for (const d of docs) {
        const parent = d.ref.parent.parent?.id ?? null;
        if (parent && plan.aboutIds.has(parent)) {
          plan.other.push({ store: 'comments', doc: d, action: 'delete', hits: new Set() });
          continue;
        }
        // Bodies are sealed under the parent subject's key: opened to look for mentions, sealed again on replace.
        const { body_sealed: sealed, ...rest } = d.data();
        const body = typeof sealed === 'string' && crypto ? await crypto.reveal(sealed, d.ref.path, COMMENT_BODY) : null;
        const hits = await match(collectTokens(body, collectTokens(rest, new Set())));
        if (hits.size) plan.other.push({ store: 'comments', doc: d, action: 'replace', hits, ...(body !== null ? { sealedBody: body } : {}) });
      }
    },
    true,
  );
  const linked: [string, (d: QueryDocumentSnapshot) => string | null][] = [
    ['idempotency_keys', (d) => (d.get('investigation_id') as string | undefined) ?? null],
    ['webhook_deliveries', (d) => eventInvestigation(d.get('payload'))],
    ['outbox', (d) => eventInvestigation(d.get('event'))],
  ];
  const erasedDeliveries = new Set<string>();
  for (const [store, invOf] of linked) {
    plan.scanned[store] = await pages(db, store, async (docs) => {
      for (const d of docs) {
        const inv = invOf(d);
        if (inv && plan.aboutIds.has(inv)) {
          plan.other.push({ store, doc: d, action: 'delete', hits: new Set() });
          if (store === 'webhook_deliveries') erasedDeliveries.add(d.id);
          continue;
        }
        const hits = await match(collectTokens(d.data(), new Set()));
        if (hits.size) plan.other.push({ store, doc: d, action: store === 'outbox' ? 'replace' : 'delete', hits });
      }
    });
  }
  plan.scanned.webhook_attempts = await pages(db, 'webhook_attempts', async (docs) => {
    for (const d of docs) if (erasedDeliveries.has(String(d.get('delivery_id')))) plan.other.push({ store: 'webhook_attempts', doc: d, action: 'delete', hits: new Set() });
  });
  const holds = await db.collection(HOLDS_COLLECTION).where('target.subject_index', '==', subject.index).get();
  plan.scanned.legal_holds = holds.size;
  for (const h of holds.docs) if (h.get('state') === 'released' && h.get('target.display') !== ERASED) plan.other.push({ store: 'legal_holds', doc: h, action: 'replace', hits: new Set() });
  return plan;
}

/** The active holds that forbid this erasure: on the subject, or on any record it would change. */
export function blockingHolds(plan: ErasePlan, subject: SubjectRefIdx, holds: HoldSet): HoldDoc[] {
  const found = new Map<string, HoldDoc>();
  for (const h of holds.covering({ kind: 'subject', subject_index: subject.index })) found.set(h.id, h);
  const parents = new Set(plan.other.filter((o) => o.store === 'comments').map((o) => o.doc.ref.parent.parent?.id).filter((x): x is string => !!x));
  for (const data of plan.touched.values()) for (const h of holds.covering({ kind: 'investigation', investigation: factsOf(data) })) found.set(h.id, h);
  // Parents of mentioning comments that were not read themselves: only a hold naming them applies.
  for (const id of parents) {
    if (plan.touched.has(id)) continue;
    for (const h of holds.holds) if (h.state === 'active' && h.target.kind === 'investigation' && h.target.investigation_id === id) found.set(h.id, h);
  }
  return [...found.values()];
}

/** Phase 2: writes. Returns per-store counts for the receipt. */
export async function applyErasure(db: Firestore, plan: ErasePlan, erasureId: string, now: Date, crypto: SubjectCrypto | null = null): Promise<StoreCount[]> {
  const w = new BatchWriter(db);
  const counts = new Map<string, StoreCount>();
  const count = (store: string, k: 'erased' | 'deleted') => {
    const c = counts.get(store) ?? { store, scanned: plan.scanned[store] ?? 0, erased: 0, deleted: 0 };
    c[k]++;
    counts.set(store, c);
  };
  for (const s of Object.keys(plan.scanned)) counts.set(s, { store: s, scanned: plan.scanned[s]!, erased: 0, deleted: 0 });
  for (const d of plan.about) {
    await w.set(d.ref, erasedInvestigation(d.data(), now, erasureId));
    count('investigations', 'erased');
  }
  for (const m of plan.mentions) {
    await w.set(m.doc.ref, { ...replaceTokens(m.doc.data(), m.hits).value, mentions_erased_at: now.toISOString() });
    count('investigations', 'erased');
  }
  for (const o of plan.other) {
    if (o.action === 'delete') {
      await w.delete(o.doc.ref);
      count(o.store, 'deleted');
    } else if (o.store === 'legal_holds') {
      await w.set(o.doc.ref, { ...o.doc.data(), target: { ...(o.doc.get('target') as object), display: ERASED } });
      count(o.store, 'erased');
    } else if (o.sealedBody !== undefined && crypto) {
      const { body_sealed: sealed, ...rest } = o.doc.data();
      const body = await crypto.seal(envelopeKey(String(sealed)).keyId, o.doc.ref.path, COMMENT_BODY, replaceTokens(o.sealedBody, o.hits).value);
      await w.set(o.doc.ref, { ...(replaceTokens(rest, o.hits).value as Record<string, unknown>), body_sealed: body });
      count(o.store, 'erased');
    } else {
      await w.set(o.doc.ref, replaceTokens(o.doc.data(), o.hits).value as Record<string, unknown>);
      count(o.store, 'erased');
    }
  }
  await w.flush();
  return [...counts.values()];
}
