import { redactText } from '../platform/redact.js';
import { columnSpec, type ColumnRef, type PiiKind } from '../warehouse/contract.js';
import type { ParamValue } from '../warehouse/port.js';
import type { SubjectType } from './model.js';

/**
 * Masking of personal data in what an investigation records (step parameters, evidence). Which
 * values are personal comes from the contract's PII flags: each query parameter is bound to the
 * contract column it is compared with, and a subject type to the column it identifies.
 */
export const SUBJECT_COLUMNS: Record<SubjectType, ColumnRef> = {
  email: 'dim_users.email',
  user_id: 'dim_users.user_id',
  voice_id: 'dim_voices.voice_id',
  ip: 'dim_users.signup_ip',
  card_fingerprint: 'fct_payments.card_fingerprint',
};

export function maskValue(kind: PiiKind, value: string): string {
  switch (kind) {
    case 'email': {
      const at = value.lastIndexOf('@');
      if (at < 1) return '***';
      return `${value.slice(0, 1)}***@${value.slice(at + 1)}`;
    }
    case 'ip':
      if (value.includes(':')) return `${value.split(':').slice(0, 2).join(':')}:****`;
      return `${value.split('.').slice(0, 2).join('.')}.*.*`;
    case 'fingerprint':
      return `${value.slice(0, 4)}****`;
    case 'text':
      return '[PII]';
  }
}

export function isPiiColumn(ref: ColumnRef | undefined): boolean {
  return ref !== undefined && columnSpec(ref).pii;
}

function maskOne(value: ParamValue, ref: ColumnRef | undefined): unknown {
  if (value instanceof Date) return value.toISOString();
  const spec = ref ? columnSpec(ref) : undefined;
  if (spec?.pii && spec.piiKind) {
    const kind = spec.piiKind;
    if (typeof value === 'string') return maskValue(kind, value);
    if (Array.isArray(value)) return value.map((v) => maskValue(kind, v));
    return value;
  }
  // A parameter with no contract binding is not trusted to be harmless: mask any email/IP in it.
  if (!ref && typeof value === 'string') return redactText(value);
  if (!ref && Array.isArray(value)) return value.map((v) => redactText(v));
  return value;
}

/** Parameters as they may be stored and shown: PII masked, timestamps as ISO strings. */
export function maskParams(params: Record<string, ParamValue>, bindings: Record<string, ColumnRef>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, maskOne(value, bindings[name])]));
}

export function maskSubject(subject: { type: SubjectType; value: string }): string {
  const spec = columnSpec(SUBJECT_COLUMNS[subject.type]);
  return spec.pii && spec.piiKind ? maskValue(spec.piiKind, subject.value) : subject.value;
}
