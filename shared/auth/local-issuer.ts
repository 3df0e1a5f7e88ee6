import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { z } from 'zod';
import { systemClock, type Clock } from '../platform/clock.js';
import type { SecretStore } from '../secrets/port.js';
import { base64url } from './jwt.js';

export const LOCAL_ISSUER = 'https://tsi.local/issuer';
/** Secret holding the issuer's key pair, so tokens stay valid across restarts of the local stack. */
export const LOCAL_ISSUER_KEY_SECRET = 'local-issuer-signing-key';
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Below google-auth-library's 24 h ceiling on token lifetime. */
export const MAX_TOKEN_TTL_SECONDS = 12 * 3600;

const StoredKeySchema = z.strictObject({
  kid: z.string().min(8),
  alg: z.literal('RS256'),
  private_key_pem: z.string().includes('PRIVATE KEY'),
  public_key_pem: z.string().includes('PUBLIC KEY'),
  created_at: z.string(),
});
type StoredKey = z.infer<typeof StoredKeySchema>;

const IssueSchema = z.strictObject({
  email: z.email().max(320),
  audience: z.string().min(1).max(2048),
  ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS),
});

export interface IssueOptions {
  audience: string;
  ttlSeconds?: number;
}

/** RFC 7638-style thumbprint of the public key: stable, and changes whenever the key does. */
function keyId(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url').slice(0, 22);
}

function newKey(clock: Clock): string {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const stored: StoredKey = { kid: keyId(publicKey), alg: 'RS256', private_key_pem: privateKey, public_key_pem: publicKey, created_at: clock.now().toISOString() };
  return JSON.stringify(stored);
}

/**
 * Local mode's stand-in for Google's token service: signs RS256 ID tokens shaped like Google's for
 * named principals. The verifier checks them with the same library call it uses for Google's
 * tokens; only the keys and the issuer differ.
 */
export class LocalIssuer {
  readonly issuer = LOCAL_ISSUER;
  private key: Promise<StoredKey & { privateKey: ReturnType<typeof createPrivateKey> }> | null = null;
  private readonly clock: Clock;

  constructor(
    private readonly secrets: SecretStore,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Public keys by key id, in the `{ kid: pem }` shape google-auth-library verifies against. */
  async certs(): Promise<Record<string, string>> {
    const key = await this.load();
    return { [key.kid]: key.public_key_pem };
  }

  async issue(email: string, options: IssueOptions): Promise<string> {
    const input = IssueSchema.parse({ email, audience: options.audience, ttlSeconds: options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS });
    const key = await this.load();
    const subject = input.email.toLowerCase();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid: key.kid };
    const payload = {
      iss: LOCAL_ISSUER,
      aud: input.audience,
      // Stable per principal, opaque like Google's numeric subject.
      sub: 'local-' + createHash('sha256').update(subject).digest('hex').slice(0, 24),
      email: subject,
      email_verified: true,
      iat,
      exp: iat + input.ttlSeconds,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(signingInput), key.privateKey);
    return `${signingInput}.${base64url(signature)}`;
  }

  private load() {
    this.key ??= (async () => {
      const raw = await this.secrets.getOrCreate(LOCAL_ISSUER_KEY_SECRET, () => newKey(this.clock));
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new Error(`Local secret "${LOCAL_ISSUER_KEY_SECRET}" is not valid JSON; delete it to generate a new key.`);
      }
      const parsed = StoredKeySchema.safeParse(json);
      if (!parsed.success) throw new Error(`Local secret "${LOCAL_ISSUER_KEY_SECRET}" is not a valid issuer key; delete it to generate a new key.`);
      return { ...parsed.data, privateKey: createPrivateKey(parsed.data.private_key_pem) };
    })().catch((error) => {
      this.key = null;
      throw error;
    });
    return this.key;
  }
}
