/**
 * Redaction of secrets and personal data, applied by the logger and the audit writer so that no
 * caller has to remember it. Keys name what a value is; patterns catch PII inside free text.
 */
const SECRET_KEY = /(authorization|token|secret|password|passwd|api[_-]?key|private[_-]?key|cookie|credential|signature)/i;
const PII_KEY = /^(email|emails|ip|ips|signup_ip|card_fingerprint|device_fingerprint|user_agent|excerpt|display_name|subject_value|phone)$/i;

const JWT = /\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g;
const BEARER = /\bBearer\s+[\w.~+/=-]+/gi;
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
const IPV6 = /\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b/gi;

export const REDACTED = '[REDACTED]';
export const PII_MASK = '[PII]';

export function redactText(text: string): string {
  return text
    .replace(JWT, REDACTED)
    .replace(BEARER, `Bearer ${REDACTED}`)
    .replace(EMAIL, PII_MASK)
    .replace(IPV6, PII_MASK)
    .replace(IPV4, PII_MASK);
}

/** Deep copy with secrets removed and personal data masked. Cycles and depth are bounded. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (depth > 8) return '[DEPTH]';
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[CYCLE]';
  seen.add(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) out[key] = REDACTED;
    else if (PII_KEY.test(key) && v !== null && v !== undefined) out[key] = PII_MASK;
    else out[key] = redact(v, depth + 1, seen);
  }
  return out;
}
