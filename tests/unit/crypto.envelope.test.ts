import { randomBytes } from 'node:crypto';
import { computeBlindIndex } from '../../shared/crypto/blind-index.js';
import { crc32c } from '../../shared/crypto/crc32c.js';
import { envelopeKey, openField, parseEnvelope, sealField } from '../../shared/crypto/envelope.js';
import { CiphertextTamperedError, FieldBindingError, MalformedEnvelopeError } from '../../shared/crypto/errors.js';
import { canonicalIp, normaliseSubjectValue } from '../../shared/crypto/normalise.js';

const key = randomBytes(32);
const keyId = computeBlindIndex(randomBytes(32), { type: 'email', value: 'john@example.com' });
const here = { docPath: 'investigations/inv_1', field: 'subject.value' };
const seal = (plaintext: string, binding = here, k = key, generation = 1) => sealField(k, { keyId, generation, binding, plaintext });

describe('field envelope (AES-256-GCM)', () => {
  it('round-trips a value and never contains it in clear', () => {
    const env = seal('john@example.com');
    expect(env).toMatch(/^v1\.[A-Za-z0-9_-]{43}\.1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(env).not.toContain('john');
    expect(openField(key, parseEnvelope(env), here)).toBe('john@example.com');
    expect(envelopeKey(env)).toEqual({ keyId, generation: 1 });
  });

  it('uses a fresh IV each time: the same value encrypts differently', () => {
    const a = parseEnvelope(seal('same'));
    const b = parseEnvelope(seal('same'));
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.sealed.equals(b.sealed)).toBe(false);
  });

  it('refuses ciphertext moved to another document or field', () => {
    const env = parseEnvelope(seal('john@example.com'));
    expect(() => openField(key, env, { docPath: 'investigations/inv_2', field: 'subject.value' })).toThrow(FieldBindingError);
    expect(() => openField(key, env, { docPath: 'investigations/inv_1', field: 'question' })).toThrow(FieldBindingError);
  });

  it('detects a changed ciphertext, tag, IV, generation or key', () => {
    const text = seal('john@example.com');
    const parts = text.split('.');
    const flip = (s: string) => {
      const b = Buffer.from(s, 'base64url');
      b[0]! ^= 1;
      return b.toString('base64url');
    };
    for (const i of [4, 5]) {
      const changed = [...parts];
      changed[i] = flip(parts[i]!);
      expect(() => openField(key, parseEnvelope(changed.join('.')), here)).toThrow(CiphertextTamperedError);
    }
    const regen = [...parts];
    regen[2] = '2';
    expect(() => openField(key, parseEnvelope(regen.join('.')), here)).toThrow(CiphertextTamperedError);
    expect(() => openField(randomBytes(32), parseEnvelope(text), here)).toThrow(CiphertextTamperedError);
  });

  it('rejects text that is not an envelope', () => {
    for (const bad of ['', 'john@example.com', 'v2.a.1.b.c.d', `v1.${keyId}.0.AAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA`, `v1.${keyId}.1.x.short.AAAA`]) {
      expect(() => parseEnvelope(bad)).toThrow(MalformedEnvelopeError);
    }
  });
});

describe('subject normalisation and blind index', () => {
  const k = randomBytes(32);
  const bi = (type: string, value: string) => computeBlindIndex(k, { type, value });

  it('finds the same email however it is spelled, but never folds different mailboxes', () => {
    expect(bi('email', '  John@Example.COM ')).toBe(bi('email', 'john@example.com'));
    expect(bi('email', 'john+x@example.com')).not.toBe(bi('email', 'john@example.com'));
    expect(bi('email', 'j.ohn@example.com')).not.toBe(bi('email', 'john@example.com'));
  });

  it('canonicalises IP addresses', () => {
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:0db8:0000:0001:0000:0000:0000:0001')).toBe('2001:db8:0:1::1');
    expect(canonicalIp('::ffff:203.0.113.77')).toBe('203.0.113.77');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('fe80::1:2')).toBe('fe80::1:2');
    expect(bi('ip', '2001:DB8::0:1')).toBe(bi('ip', '2001:db8::1'));
    expect(() => canonicalIp('fe80::1%eth0')).toThrow();
    expect(() => canonicalIp('999.1.1.1')).toThrow();
  });

  it('keeps case in opaque ids and separates subject types', () => {
    expect(normaliseSubjectValue('user_id', ' U_1 ')).toBe('U_1');
    expect(bi('user_id', 'u_1')).not.toBe(bi('user_id', 'U_1'));
    expect(bi('user_id', 'x1')).not.toBe(bi('voice_id', 'x1'));
  });

  it('depends on the key (a plain hash could be reversed by enumeration)', () => {
    expect(computeBlindIndex(randomBytes(32), { type: 'email', value: 'a@b.co' })).not.toBe(bi('email', 'a@b.co'));
    expect(bi('email', 'a@b.co')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });
});
