import { SubjectErasedError } from '../crypto/errors.js';
import type { DataProtection } from '../crypto/service.js';
import { isSealedSubject, maskSubjectValue, type InvestigationDoc, type PlainSubject, type Subject } from './model.js';

/**
 * Personal data in investigation documents (docs/decisions/0011): what `InvestigationStore` seals
 * before a write and reveals for a reader. The subject value and the question are encrypted under
 * the subject's data key, bound to `investigations/<id>` and their field, so erasing the subject
 * (destroying its key) makes both unreadable everywhere, backups included.
 */
export const ERASED = '[erased]';
export const PII_FIELDS = { subject: 'subject.value', question: 'question' } as const;

export function investigationPath(id: string): string {
  return `investigations/${id}`;
}

export class InvestigationPii {
  constructor(private readonly dp: DataProtection) {}

  /** Blind index of a subject: the value of `subject.index` for lookups ("every investigation about X"). */
  subjectIndex(subject: Pick<Subject, 'type' | 'value'>): Promise<string> {
    return this.dp.blindIndex(subject);
  }

  /** The document as it may be stored: no subject value, no question in clear. */
  async seal(doc: InvestigationDoc): Promise<InvestigationDoc> {
    const docPath = investigationPath(doc.id);
    let out = doc;
    if (!isSealedSubject(doc.subject)) {
      const s: PlainSubject = doc.subject;
      if (s.erased) throw new Error('an erased subject cannot be stored again');
      const index = await this.dp.blindIndex(s);
      const sealed = await this.dp.encryptField({ subjectRef: { keyId: index }, docPath, field: PII_FIELDS.subject, plaintext: s.value });
      out = { ...out, subject: { type: s.type, index, display: maskSubjectValue(s.type, s.value), sealed } };
    }
    if (out.question !== null) {
      const keyId = isSealedSubject(out.subject) ? out.subject.index : await this.dp.blindIndex(out.subject);
      const sealed = await this.dp.encryptField({ subjectRef: { keyId }, docPath, field: PII_FIELDS.question, plaintext: out.question });
      out = { ...out, question: null, question_sealed: sealed };
    }
    return out;
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
}
