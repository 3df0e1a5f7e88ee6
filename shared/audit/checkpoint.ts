import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './chain.js';

/**
 * Signed checkpoints that anchor an audit hash chain (docs/decisions/0030). The chain alone shows
 * a changed record only while the records after it are left alone: whoever can rewrite the file
 * can recompute every later hash, or cut the tail off. A checkpoint records a chain's head (seq,
 * hash, record count) and time, signed with Ed25519 under a key from the secret store, and is
 * written to a separate sink (production: a Cloud Storage bucket with a locked retention policy;
 * locally `<dataDir>/audit-checkpoints/`). `tsi audit verify` then checks that the chain still
 * reaches every checkpoint's seq with that checkpoint's hash. Pure, apart from node:crypto.
 */
export const CHECKPOINT_KEY_SECRET = 'tsi-audit-checkpoint-key';

export const CheckpointSchema = z.strictObject({
  v: z.literal(1),
  chain: z.string().min(1).max(200),
  /** seq of the head record; the chain then holds `count` = seq + 1 records. */
  seq: z.number().int().min(0),
  count: z.number().int().min(1),
  head_hash: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.string().datetime({ offset: true }),
  key_id: z.string().min(1).max(100),
  alg: z.literal('Ed25519'),
  sig: z.string().regex(/^[A-Za-z0-9_-]+$/),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;
export type CheckpointBody = Omit<Checkpoint, 'sig' | 'key_id' | 'alg' | 'v'>;

/** The secret's value: an Ed25519 private key, PKCS#8 DER, base64. */
export function generateCheckpointKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}

function keyIdOf(publicKey: KeyObject): string {
  return `ed25519:${createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16)}`;
}

export interface CheckpointSigner {
  keyId: string;
  sign(body: CheckpointBody): Checkpoint;
}

export interface CheckpointVerifier {
  keyId: string;
  /** The key's public half as PEM, for handing to someone who verifies without the secret. */
  publicKeyPem: string;
  valid(checkpoint: Checkpoint): boolean;
}

const signedBytes = (c: Omit<Checkpoint, 'sig'>) => Buffer.from(canonicalJson(c), 'utf8');

export function checkpointSigner(secretValue: string): CheckpointSigner {
  const privateKey = createPrivateKey({ key: Buffer.from(secretValue.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  const keyId = keyIdOf(createPublicKey(privateKey));
  return {
    keyId,
    sign(body) {
      const unsigned = { v: 1 as const, ...body, key_id: keyId, alg: 'Ed25519' as const };
      return { ...unsigned, sig: sign(null, signedBytes(unsigned), privateKey).toString('base64url') };
    },
  };
}

/** From the signing secret (local, or someone with access to it) or from the public key alone (PEM). */
export function checkpointVerifier(key: { secretValue: string } | { publicKeyPem: string }): CheckpointVerifier {
  const publicKey = 'secretValue' in key ? createPublicKey(createPrivateKey({ key: Buffer.from(key.secretValue.trim(), 'base64'), format: 'der', type: 'pkcs8' })) : createPublicKey(key.publicKeyPem);
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('the checkpoint key is not an Ed25519 key');
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    valid(checkpoint) {
      const { sig, ...unsigned } = checkpoint;
      try {
        return checkpoint.key_id === keyId && verify(null, signedBytes(unsigned), publicKey, Buffer.from(sig, 'base64url'));
      } catch {
        return false;
      }
    },
  };
}

/** When the anchor writes the next checkpoint: every `every` records, or after `intervalMs` with new records. */
export function checkpointDue(state: { headSeq: number; anchoredSeq: number; sinceMs: number }, policy: { every: number; intervalMs: number }): boolean {
  const unanchored = state.headSeq - state.anchoredSeq;
  if (unanchored <= 0) return false;
  return unanchored >= policy.every || (policy.intervalMs > 0 && state.sinceMs >= policy.intervalMs);
}

export type CheckpointProblem =
  | { kind: 'forged'; where: string; detail: string }
  | { kind: 'truncated'; seq: number; detail: string }
  | { kind: 'rewritten'; seq: number; detail: string }
  | { kind: 'missing-chain'; chain: string; detail: string };

export interface AnchorReport {
  chain: string | null;
  ok: boolean;
  /** Valid checkpoints found for this chain. */
  checkpoints: number;
  /** The highest seq a valid checkpoint vouches for, or null. */
  anchoredSeq: number | null;
  /** Records after the last checkpoint: intact as far as the hashes go, but not yet anchored. */
  unanchored: number;
  problems: CheckpointProblem[];
}

export interface StoredCheckpoint {
  /** Where it was read from (file or object name), for messages. */
  where: string;
  value: unknown;
}

/**
 * Checks one chain's records (as verified by verifyAuditChain: `heads` maps each good record's
 * seq to its hash, `lastSeq` is the last good seq, -1 if none) against its checkpoints:
 * - forged: not a well-formed checkpoint, or its signature does not verify under the key;
 * - truncated: a checkpoint vouches for a seq the chain no longer reaches (records deleted);
 * - rewritten: the record at a checkpoint's seq has another hash (changed, chain recomputed).
 */
export function checkAnchors(chain: string | null, heads: ReadonlyMap<number, string>, lastSeq: number, stored: readonly StoredCheckpoint[], verifier: CheckpointVerifier | null): AnchorReport {
  const problems: CheckpointProblem[] = [];
  let anchoredSeq: number | null = null;
  let count = 0;
  for (const s of stored) {
    const parsed = CheckpointSchema.safeParse(s.value);
    if (!parsed.success) {
      problems.push({ kind: 'forged', where: s.where, detail: 'not a well-formed checkpoint' });
      continue;
    }
    const cp = parsed.data;
    if (cp.chain !== chain) continue;
    if (!verifier) {
      problems.push({ kind: 'forged', where: s.where, detail: 'no checkpoint key to check the signature with' });
      continue;
    }
    if (!verifier.valid(cp)) {
      problems.push({ kind: 'forged', where: s.where, detail: cp.key_id === verifier.keyId ? 'the signature does not verify' : `signed with key ${cp.key_id}, not the checkpoint key ${verifier.keyId}` });
      continue;
    }
    if (cp.count !== cp.seq + 1) {
      problems.push({ kind: 'forged', where: s.where, detail: `count ${cp.count} does not match seq ${cp.seq}` });
      continue;
    }
    count++;
    const hash = heads.get(cp.seq);
    if (cp.seq > lastSeq) {
      problems.push({ kind: 'truncated', seq: cp.seq, detail: `the checkpoint of ${cp.time} vouches for ${cp.count} record(s) (up to seq ${cp.seq}) but the chain ends at seq ${lastSeq}: ${cp.seq - lastSeq} record(s) were deleted` });
    } else if (hash !== cp.head_hash) {
      problems.push({ kind: 'rewritten', seq: cp.seq, detail: `the record at seq ${cp.seq} is not the one the checkpoint of ${cp.time} signed (hash ${(hash ?? 'none').slice(0, 16)}…, signed ${cp.head_hash.slice(0, 16)}…): a record at or before it was changed and the chain recomputed` });
    } else if (anchoredSeq === null || cp.seq > anchoredSeq) {
      anchoredSeq = cp.seq;
    }
  }
  return { chain, ok: problems.length === 0, checkpoints: count, anchoredSeq, unanchored: Math.max(0, lastSeq - (anchoredSeq ?? -1)), problems };
}
