import type { DataProtection } from '../crypto/service.js';

/**
 * The one adapter between compliance and shared/crypto: blind indexes (pseudonymous subject ids)
 * and crypto-shredding. Everything else in this folder depends on this interface only.
 */
export interface SubjectCrypto {
  /** Keyed blind index of a subject: its pseudonymous id everywhere in compliance records. */
  blindIndex(subject: { type: string; value: string }): Promise<string>;
  /** The subject's current key generation (live or destroyed), null when it never had a key. */
  keyGeneration(index: string): Promise<number | null>;
  /** Destroys the subject's data key (idempotent). */
  destroyKey(index: string): Promise<{ keyId: string; generation: number; hadKey: boolean; destroyedAt: string }>;
  /** Opens a field envelope; null when the subject of that envelope was erased. */
  reveal(envelope: string, docPath: string, field: string): Promise<string | null>;
  /** Seals a field again under the key of the given subject index. */
  seal(index: string, docPath: string, field: string, plaintext: string): Promise<string>;
}

export function subjectCryptoFrom(dp: DataProtection): SubjectCrypto {
  const memo = new Map<string, Promise<string>>();
  return {
    blindIndex(subject) {
      const k = `${subject.type}\u0000${subject.value}`;
      let hit = memo.get(k);
      if (!hit) {
        hit = dp.blindIndex(subject);
        // Mention scans index many repeated tokens; keep the memo bounded.
        if (memo.size > 50_000) memo.clear();
        memo.set(k, hit);
      }
      return hit;
    },
    async keyGeneration(index) {
      return (await dp.subjectKeyStatus({ keyId: index }))?.generation ?? null;
    },
    async destroyKey(index) {
      const r = await dp.destroySubjectKey({ keyId: index });
      return { keyId: r.keyId, generation: r.generation, hadKey: r.hadKey, destroyedAt: r.destroyedAt };
    },
    async reveal(envelope, docPath, field) {
      const r = await dp.reveal({ envelope, docPath, field });
      return r.ok ? r.value : null;
    },
    seal(index, docPath, field, plaintext) {
      return dp.encryptField({ subjectRef: { keyId: index }, docPath, field, plaintext });
    },
  };
}
