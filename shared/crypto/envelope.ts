import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { CiphertextTamperedError, FieldBindingError, MalformedEnvelopeError } from './errors.js';

/**
 * The field envelope: how one encrypted field is stored. Pure (no I/O; the IV comes from the
 * caller or the CSPRNG). A self-describing, dot-separated string that fits in any document field:
 *
 *     v1.<key id>.<key generation>.<binding>.<iv>.<ciphertext+tag>
 *
 * - key id: the subject's blind index (base64url), i.e. which data key to fetch; never the value;
 * - key generation: which data key of that subject (a new one is made only after the previous was
 *   destroyed), so ciphertext of an erased generation is recognised as erased, not as tampered;
 * - binding: 8 bytes of sha256(document path, field name), only to tell "moved to another
 *   document" apart from "tampered" in the error; the security comes from the AAD below;
 * - iv: 12 random bytes, fresh for every encryption;
 * - ciphertext+tag: AES-256-GCM output with its 16-byte tag.
 * The AAD binds version, key id, generation, document path and field name, so ciphertext copied
 * to another document, field or subject fails authentication.
 */
export const ENVELOPE_VERSION = 'v1';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export interface FieldBinding {
  /** Firestore document path the value lives in, e.g. `investigations/inv_01…`. */
  docPath: string;
  /** Field name inside that document, e.g. `subject.value`. */
  field: string;
}

export interface ParsedEnvelope {
  keyId: string;
  generation: number;
  binding: string;
  iv: Buffer;
  sealed: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function checkBinding(b: FieldBinding): void {
  for (const [name, v] of [['docPath', b.docPath], ['field', b.field]] as const) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 1500 || v.includes('\u0000')) {
      throw new TypeError(`${name} must be a non-empty string without NUL`);
    }
  }
}

export function fieldAad(keyId: string, generation: number, b: FieldBinding): Buffer {
  checkBinding(b);
  return Buffer.from(['tsi-field', ENVELOPE_VERSION, keyId, String(generation), b.docPath, b.field].join('\u0000'), 'utf8');
}

export function bindingTag(b: FieldBinding): string {
  checkBinding(b);
  return createHash('sha256').update(`tsi-field-binding\u0000${b.docPath}\u0000${b.field}`).digest().subarray(0, 8).toString('base64url');
}

export function isEnvelope(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(`${ENVELOPE_VERSION}.`);
}

export function parseEnvelope(text: string): ParsedEnvelope {
  if (typeof text !== 'string') throw new MalformedEnvelopeError('not a string');
  const parts = text.split('.');
  if (parts.length !== 6 || parts[0] !== ENVELOPE_VERSION) throw new MalformedEnvelopeError('expected v1 with 6 parts');
  const [, keyId, gen, binding, iv, sealed] = parts as [string, string, string, string, string, string];
  if (!B64URL.test(keyId) || !B64URL.test(binding) || !B64URL.test(iv) || !B64URL.test(sealed)) throw new MalformedEnvelopeError('bad encoding');
  if (!/^[1-9]\d{0,8}$/.test(gen)) throw new MalformedEnvelopeError('bad key generation');
  const ivBytes = Buffer.from(iv, 'base64url');
  const sealedBytes = Buffer.from(sealed, 'base64url');
  if (ivBytes.length !== IV_BYTES) throw new MalformedEnvelopeError('bad iv length');
  if (sealedBytes.length < TAG_BYTES) throw new MalformedEnvelopeError('ciphertext too short');
  return { keyId, generation: Number(gen), binding, iv: ivBytes, sealed: sealedBytes };
}

/** Key id and generation without opening the envelope (for key lookups and erasure scans). */
export function envelopeKey(text: string): { keyId: string; generation: number } {
  const { keyId, generation } = parseEnvelope(text);
  return { keyId, generation };
}

export function sealField(
  key: Buffer,
  input: { keyId: string; generation: number; binding: FieldBinding; plaintext: string },
  iv: Buffer = randomBytes(IV_BYTES),
): string {
  if (key.length !== KEY_BYTES) throw new TypeError('data key must be 32 bytes');
  if (iv.length !== IV_BYTES) throw new TypeError('iv must be 12 bytes');
  if (!B64URL.test(input.keyId)) throw new TypeError('key id must be base64url');
  if (!Number.isInteger(input.generation) || input.generation < 1) throw new TypeError('generation must be a positive integer');
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(fieldAad(input.keyId, input.generation, input.binding));
  const ct = Buffer.concat([cipher.update(input.plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [ENVELOPE_VERSION, input.keyId, String(input.generation), bindingTag(input.binding), iv.toString('base64url'), ct.toString('base64url')].join('.');
}

/** Opens an envelope with its data key; throws FieldBindingError or CiphertextTamperedError. */
export function openField(key: Buffer, envelope: ParsedEnvelope, binding: FieldBinding): string {
  const aad = fieldAad(envelope.keyId, envelope.generation, binding);
  const decipher = createDecipheriv('aes-256-gcm', key, envelope.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(envelope.sealed.subarray(envelope.sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(envelope.sealed.subarray(0, envelope.sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    // GCM cannot say why authentication failed; the binding tag can tell a moved value apart.
    if (envelope.binding !== bindingTag(binding)) throw new FieldBindingError();
    throw new CiphertextTamperedError();
  }
}
