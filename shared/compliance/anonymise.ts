/**
 * Pure rewriting of stored records for retention (anonymise) and erasure. Nothing here does I/O.
 */
import { emptyResult } from '../investigations/model.js';
import { ERASED } from '../investigations/pii.js';

// The marker readers see for erased values: one definition, shared with the presenter.
export { ERASED };

/** Retention's anonymise: the investigation keeps its id, state, dates and decision outcome only. */
export function anonymisedInvestigation(data: Record<string, unknown>, now: Date, by: 'retention' | 'erasure'): Record<string, unknown> {
  const subject = (data.subject ?? {}) as { type?: string };
  const decision = data.decision as Record<string, unknown> | null;
  const { expire_at: _e, question_sealed: _q, ...rest } = data;
  return {
    ...rest,
    subject: { type: subject.type ?? 'user_id', value: ERASED, erased: true },
    question: null,
    ...emptyResult(),
    failure_reason: null,
    decision: decision ? { ...decision, rationale: ERASED } : null,
    anonymised_at: now.toISOString(),
    anonymised_by: by,
  };
}

/**
 * Erasure of an investigation ABOUT the subject: everything about them goes; the sealed subject
 * stays as ciphertext whose key is destroyed next (it reads as "[erased]"), with no masked form.
 */
export function erasedInvestigation(data: Record<string, unknown>, now: Date, erasureId: string): Record<string, unknown> {
  const subject = (data.subject ?? {}) as Record<string, unknown>;
  const out = anonymisedInvestigation(data, now, 'erasure');
  if (typeof subject.sealed === 'string' && typeof subject.index === 'string') {
    out.subject = { type: subject.type, index: subject.index, display: ERASED, sealed: subject.sealed };
  }
  return { ...out, erased_at: now.toISOString(), erasure_id: erasureId };
}

// Identifiers as they appear in text: emails, ids, IPs (v4 and v6), fingerprints.
const TOKEN = /[A-Za-z0-9_.:+/=@%-]+/g;

function trimToken(raw: string): string {
  return raw.replace(/^[.:/=+-]+|[.:/=+-]+$/g, '');
}

/** Every candidate token in every string of a value (keys included). */
export function collectTokens(value: unknown, out: Set<string>): Set<string> {
  if (typeof value === 'string') {
    for (const m of value.matchAll(TOKEN)) {
      const t = trimToken(m[0]);
      if (t) out.add(t);
    }
  } else if (Array.isArray(value)) for (const v of value) collectTokens(v, out);
  else if (value && typeof value === 'object' && !(value instanceof Date) && typeof (value as { toDate?: unknown }).toDate !== 'function') {
    for (const [k, v] of Object.entries(value)) {
      collectTokens(k, out);
      collectTokens(v, out);
    }
  }
  return out;
}

/** Replaces every token in `hits` by "[erased]"; returns the new value and how many were replaced. */
export function replaceTokens<T>(value: T, hits: ReadonlySet<string>): { value: T; replaced: number } {
  let replaced = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(TOKEN, (raw) => {
        const t = trimToken(raw);
        if (!t || !hits.has(t)) return raw;
        replaced++;
        return raw.replace(t, ERASED);
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && !(v instanceof Date) && typeof (v as { toDate?: unknown }).toDate !== 'function') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k) as string, walk(x)]));
    }
    return v;
  };
  const out = walk(value) as T;
  return { value: out, replaced };
}
