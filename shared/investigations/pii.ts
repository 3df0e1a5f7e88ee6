import type { Firestore, Transaction } from '@google-cloud/firestore';
import { SubjectErasedError } from '../crypto/errors.js';
import type { DataProtection, SealedValue } from '../crypto/service.js';
import { isSealedSubject, maskSubjectValue, type CommentDoc, type InvestigationDoc, type PlainSubject, type Subject } from './model.js';

/**
 * Personal data in investigation documents (docs/decisions/0011): what `InvestigationStore` seals
 * before a write and reveals for a reader. The subject value, the question and every comment body
 * are encrypted under the subject's data key, bound to their document path and field, so erasing
 * the subject (destroying its key) makes all of them unreadable everywhere, backups included.
 *
 * Writes of freshly sealed data go through `transaction`/`commentTransaction`: sealed outside the
 * Firestore transaction, the key checked live inside it (DataProtection.sealedTransaction).
 */
export const ERASED = '[erased]';
export const PII_FIELDS = { subject: 'subject.value', question: 'question', commentBody: 'body' } as const;

export function investigationPath(id: string): string {
  return `investigations/${id}`;
}

export function commentPath(investigationId: string, commentId: string): string {
  return `investigations/${investigationId}/comments/${commentId}`;
}

/** A comment as stored: the body only as an envelope under the investigation subject's key. */
export interface StoredComment {
  id: string;
  author: string;
  body_sealed: string;
  created_at: string;
}

export class InvestigationPii {
  constructor(private readonly dp: DataProtection) {}

  /** Blind index of a subject: the value of `subject.index` for lookups ("every investigation about X"). */
  subjectIndex(subject: Pick<Subject, 'type' | 'value'>): Promise<string> {
    return this.dp.blindIndex(subject);
  }

  /** The document as it may be stored: no subject value, no question in clear. */
  async seal(doc: InvestigationDoc): Promise<InvestigationDoc> {
    return (await this.sealFresh(doc)).value;
  }

  /** `seal`, also naming the envelopes made now (those whose key must still be live at commit). */
  async sealFresh(doc: InvestigationDoc): Promise<SealedValue<InvestigationDoc>> {
    const docPath = investigationPath(doc.id);
    const fresh: string[] = [];
    let out = doc;
    if (!isSealedSubject(doc.subject)) {
      const s: PlainSubject = doc.subject;
      if (s.erased) throw new Error('an erased subject cannot be stored again');
      const index = await this.dp.blindIndex(s);
      const sealed = await this.dp.encryptField({ subjectRef: { keyId: index }, docPath, field: PII_FIELDS.subject, plaintext: s.value });
      fresh.push(sealed);
      out = { ...out, subject: { type: s.type, index, display: maskSubjectValue(s.type, s.value), sealed } };
    }
    if (out.question !== null) {
      const keyId = await this.keyIdOf(out);
      const sealed = await this.dp.encryptField({ subjectRef: { keyId }, docPath, field: PII_FIELDS.question, plaintext: out.question });
      fresh.push(sealed);
      out = { ...out, question: null, question_sealed: sealed };
    }
    return { value: out, fresh };
  }

  /**
   * Writes a document that may need sealing: sealed outside the transaction, its fresh envelopes'
   * keys checked live inside it, sealed again under a fresh key if another instance destroyed the
   * key meanwhile.
   */
  transaction<R>(db: Firestore, doc: InvestigationDoc, write: (tx: Transaction, sealed: InvestigationDoc) => Promise<R>): Promise<R> {
    return this.dp.sealedTransaction(db, () => this.sealFresh(doc), write);
  }

  /** A comment's body sealed under the key of the investigation's subject. */
  async sealComment(investigation: InvestigationDoc, comment: CommentDoc): Promise<SealedValue<StoredComment>> {
    const keyId = await this.keyIdOf(investigation);
    const sealed = await this.dp.encryptField({ subjectRef: { keyId }, docPath: commentPath(investigation.id, comment.id), field: PII_FIELDS.commentBody, plaintext: comment.body });
    return { value: { id: comment.id, author: comment.author, body_sealed: sealed, created_at: comment.created_at }, fresh: [sealed] };
  }

  /** Writes a new comment: body sealed outside the transaction, key checked live inside. */
  commentTransaction<R>(db: Firestore, investigation: InvestigationDoc, comment: CommentDoc, write: (tx: Transaction, stored: StoredComment) => Promise<R>): Promise<R> {
    return this.dp.sealedTransaction(db, () => this.sealComment(investigation, comment), write);
  }

  /** A stored comment in clear ("[erased]" once its subject was erased); comments stored before sealing pass through. */
  async revealComment(investigationId: string, stored: Record<string, unknown>): Promise<CommentDoc> {
    const base = { id: String(stored.id), author: String(stored.author), created_at: String(stored.created_at) };
    if (typeof stored.body_sealed !== 'string') return { ...base, body: String(stored.body ?? '') };
    const r = await this.dp.reveal({ envelope: stored.body_sealed, docPath: commentPath(investigationId, base.id), field: PII_FIELDS.commentBody });
    return { ...base, body: r.ok ? r.value : ERASED };
  }

  /** A copy with the requested fields in clear; an erased subject reads as "[erased]". */
  async reveal(doc: InvestigationDoc, what: { subject: boolean; question: boolean }): Promise<InvestigationDoc> {
    const docPath = investigationPath(doc.id);
    let out = doc;
    if (what.subject && isSealedSubject(doc.subject)) {
      const r = await this.dp.reveal({ envelope: doc.subject.sealed, docPath, field: PII_FIELDS.subject });
      out = { ...out, subject: r.ok ? { type: doc.subject.type, value: r.value } : { type: doc.subject.type, value: ERASED, erased: true } };
    }
    if (what.question && doc.question_sealed !== undefined) {
      const r = await this.dp.reveal({ envelope: doc.question_sealed, docPath, field: PII_FIELDS.question });
      const { question_sealed: _sealed, ...rest } = out;
      out = { ...rest, question: r.ok ? r.value : ERASED };
    }
    return out;
  }

  /** What the worker needs to run the agent; SubjectErasedError once the subject was erased. */
  async forRun(doc: InvestigationDoc): Promise<{ subject: Subject; question: string | null }> {
    const clear = await this.reveal(doc, { subject: true, question: true });
    const s = clear.subject;
    if (isSealedSubject(s) || s.erased) throw new SubjectErasedError(isSealedSubject(doc.subject) ? doc.subject.index : 'unknown', 'destroyed');
    return { subject: { type: s.type, value: s.value }, question: clear.question };
  }

  private keyIdOf(doc: InvestigationDoc): Promise<string> {
    return isSealedSubject(doc.subject) ? Promise.resolve(doc.subject.index) : this.dp.blindIndex(doc.subject);
  }
}
