import { isIPv4, isIPv6 } from 'node:net';

/**
 * Redaction of secrets and personal data, applied by the logger and the audit writer so that no
 * caller has to remember it. Keys name what a value is; patterns catch secrets and PII inside free
 * text. This is the ONE redactor: extend it here rather than filtering beside it.
 *
 * Free text is searched for, in this order: private-key blocks, JWTs, `Bearer`/`Basic`
 * credentials, `password=…`-style pairs (also JSON `"password":"…"`), Standard Webhooks secrets
 * (`whsec_…`), known API-key shapes (Google `AIza…`/`ya29.`/`GOCSPX-`, `sk-…`, Stripe, GitHub,
 * Slack, AWS), passwords in URLs (`//user:pass@`), e-mail addresses, payment card numbers (13-19
 * digits, spaces or dashes allowed, Luhn-valid), IPv6 and IPv4 addresses, and long
 * high-entropy tokens. Percent-encoded text (`a%40b.com`, `%3D`) is searched decoded as well.
 *
 * Our own identifiers stay readable: ids are `<prefix>_<ULID>` in lower case, UUIDs and digests
 * are lower-case hex, so none of them is a mixed-case high-entropy token. Values under
 * identifier-named keys (`id`, `*_id`, `*_hash`, `*_pseudonym`, …) and the audit record's
 * request id and trace are redacted in "identifier" mode, which skips the two heuristics that
 * could mistake an id for a secret (card numbers: Pub/Sub message ids are long digit runs;
 * high-entropy tokens: blind indexes are base64url) but still removes every named pattern.
 */
const SECRET_KEY = /(authorization|token|secret|password|passwd|api[_-]?key|private[_-]?key|cookie|credential|signature)/i;
const PII_KEY = /^(email|emails|ip|ips|signup_ip|card_fingerprint|device_fingerprint|user_agent|excerpt|display_name|subject_value|phone)$/i;
const ID_KEY = /^(id|ids|chain|hash|prev_hash|etag)$|_(id|ids|hash|digest|pseudonym|index)$/i;

export const REDACTED = '[REDACTED]';
export const PII_MASK = '[PII]';

export interface RedactTextOptions {
  /** The text is one of our identifiers: skip the card-number and entropy heuristics. */
  identifier?: boolean;
}

const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;
const JWT = /\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g;
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[\w.~+/=-]+/gi;
/** `password=…`, `password: …`, `"password":"…"`; the key itself stays so the text still reads. */
const SECRET_PAIR =
  /(?<![\w.-])(["']?)(password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|private[_-]?key)\1(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s&,;"'}\]]+)/gi;
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/=_-]+/g;
const API_KEYS = [
  /\bAIza[0-9A-Za-z_-]{30,}/g, // Google API key
  /\bya29\.[0-9A-Za-z_.-]+/g, // Google OAuth access token
  /\bGOCSPX-[0-9A-Za-z_-]{10,}/g, // Google OAuth client secret
  /\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{16,}/g, // OpenAI / Anthropic style
  /\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,}/g, // Stripe
  /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})/g, // GitHub
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key id
];
const URL_PASSWORD = /(\/\/[^\s/:@]+):[^\s/@]+@/g;
/** Starts only where a run of local-part characters starts: without that, a long word is O(n²). */
const EMAIL = /(?<![\w.+%'-])[\w.+%'-]+@[\w-]+(?:\.[\w-]+)+/g;
/** 13-19 digits, single spaces or dashes between them; not part of a longer word or dashed id. */
const CARD = /(?<![0-9A-Za-z]|[0-9A-Za-z]-)\d(?:[ -]?\d){12,18}(?![0-9A-Za-z]|-[0-9A-Za-z])/g;
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![\w:])/g;
const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d|\w)/g;
const TOKEN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function isCardNumber(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '');
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

function shannonBits(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

/** Share of a token's characters inside words of 4+ letters (`Investigations`, `READ`): code names score high. */
function wordShare(token: string): number {
  let inWords = 0;
  for (const m of token.matchAll(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])/g)) if (m[0].length >= 4) inWords += m[0].length;
  return inWords / token.length;
}

/**
 * A long run of base64/base64url characters that mixes upper case, lower case and digits, is not
 * made of words and has high character entropy: what random keys look like, and what our
 * lower-case ids, hex digests and camel-case names do not. Random
 * 24-byte keys pass about 998 times in 1000 (the rest are caught only by a named pattern).
 */
export function looksLikeSecretToken(token: string): boolean {
  if (!/[a-z]/.test(token) || !/[A-Z]/.test(token) || !/\d/.test(token)) return false;
  const body = token.replace(/=+$/, '');
  return wordShare(body) < 0.6 && shannonBits(body) >= 3.5;
}

/** A path (`investigations/<token>`) is judged segment by segment; anything else as one token. */
function redactToken(token: string): string {
  const segments = token.split('/');
  if (segments.some((segment) => /^[A-Za-z][A-Za-z-]{3,}$/.test(segment))) {
    return segments.map((segment) => (segment.length >= 32 && looksLikeSecretToken(segment) ? REDACTED : segment)).join('/');
  }
  return looksLikeSecretToken(token) ? REDACTED : token;
}

function redactPlain(text: string, options: RedactTextOptions): string {
  let out = text
    .replace(PRIVATE_KEY_BLOCK, REDACTED)
    .replace(JWT, REDACTED)
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(SECRET_PAIR, (_m, q: string, key: string, sep: string, value: string) => `${q}${key}${q}${sep}${value.startsWith('"') ? `"${REDACTED}"` : value.startsWith("'") ? `'${REDACTED}'` : REDACTED}`)
    .replace(WEBHOOK_SECRET, REDACTED);
  for (const pattern of API_KEYS) out = out.replace(pattern, REDACTED);
  out = out.replace(URL_PASSWORD, `$1:${REDACTED}@`).replace(EMAIL, PII_MASK);
  if (!options.identifier) out = out.replace(CARD, (m) => (isCardNumber(m) ? PII_MASK : m));
  out = out.replace(IPV6, (m) => (/[0-9A-Fa-f]/.test(m) && isIPv6(m) ? PII_MASK : m)).replace(IPV4, (m) => (isIPv4(m) ? PII_MASK : m));
  if (!options.identifier) out = out.replace(TOKEN, redactToken);
  return out;
}

/** Decodes `%XX` escapes of ASCII characters (twice, for double encoding); leaves the rest. */
function decodeAsciiEscapes(text: string): string {
  let out = text;
  for (let i = 0; i < 2 && /%[0-7][0-9A-Fa-f]/.test(out); i++) {
    out = out.replace(/%([0-7][0-9A-Fa-f])/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return out;
}

export function redactText(text: string, options: RedactTextOptions = {}): string {
  const direct = redactPlain(text, options);
  const decoded = decodeAsciiEscapes(text);
  if (decoded === text) return direct;
  // Something was hidden behind percent-encoding: keep the decoded, redacted form.
  const viaDecoded = redactPlain(decoded, options);
  return viaDecoded === decoded ? direct : viaDecoded;
}

/** Deep copy with secrets removed and personal data masked. Cycles and depth are bounded. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>(), options: RedactTextOptions = {}): unknown {
  if (depth > 8) return '[DEPTH]';
  if (typeof value === 'string') return redactText(value, options);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[CYCLE]';
  seen.add(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen, options));
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) out[key] = REDACTED;
    else if (PII_KEY.test(key) && v !== null && v !== undefined) out[key] = PII_MASK;
    else out[key] = redact(v, depth + 1, seen, ID_KEY.test(key) ? { identifier: true } : {});
  }
  return out;
}
