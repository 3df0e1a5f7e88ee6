import type { OAuth2Client } from 'google-auth-library';
import { z } from 'zod';
import { systemClock, type Clock } from '../platform/clock.js';
import { UnauthenticatedError, UnavailableError, type AppError } from '../platform/errors.js';
import { rootLogger, type Logger } from '../platform/logger.js';
import { decodeJwt } from './jwt.js';
import { LOCAL_ISSUER } from './local-issuer.js';

/**
 * The ONE way a request becomes a principal, in every mode: google-auth-library's
 * `verifySignedJwtWithCertsAsync` checks signature, expiry, issuer and audience; only the source of
 * keys and the expected issuer differ (Google's certs, IAP's keys, or the local issuer's key).
 * Every failure is a 401 with a detail the caller can act on; the token itself is never echoed.
 */
export interface Principal {
  email: string;
  subject: string;
  issuer: string;
  via: 'id_token' | 'iap';
}

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface TokenVerifierOptions {
  /** `google`: Google-signed ID tokens and IAP JWTs. `local`: tokens from the local issuer. */
  mode: 'local' | 'google';
  /** Audience expected in ID tokens (the service URL in production). */
  audience: string;
  /** Expected IAP audience (`/projects/N/global/backendServices/M`); IAP assertions are refused without it. */
  iapAudience?: string;
  /** Required in local mode. */
  localIssuer?: { certs(): Promise<Record<string, string>> };
  /** Where Google ID token signing keys are fetched (config `TSI_GOOGLE_CERTS_URL`, local runs only); default Google's. */
  certsUrl?: string;
  /** Defaults to a lazily created OAuth2Client; tests pass one whose key URLs point at a local server. */
  client?: OAuth2Client;
  clock?: Clock;
  logger?: Logger;
}

export const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'] as const;
export const IAP_ISSUER = 'https://cloud.google.com/iap';
export const IAP_HEADER = 'x-goog-iap-jwt-assertion';
/** What Cloud Run puts in place of the signature of an Authorization token it has already checked. */
export const STRIPPED_SIGNATURE = 'SIGNATURE_REMOVED_BY_GOOGLE';
/** Google ID tokens and IAP JWTs are ~1-2 KB; anything far larger is refused before parsing. */
const MAX_TOKEN_CHARS = 8192;
const IAP_KEYS_MAX_AGE_MS = 3600_000;
const IAP_KEYS_MIN_REFRESH_MS = 60_000;

const ClaimsSchema = z.object({
  iss: z.string(),
  sub: z.string().min(1).max(255),
  email: z.string().max(320).pipe(z.email()).optional(),
  email_verified: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
});

type Certs = Record<string, string>;

interface TrustSource {
  via: Principal['via'];
  alg: 'RS256' | 'ES256';
  audience: string;
  /** Whether the audience may be named in error details (the IAP backend id is not published). */
  showAudience: boolean;
  requireVerifiedEmail: boolean;
  check(client: OAuth2Client, token: string, kid: string): Promise<Record<string, unknown>>;
}

const fail = (detail: string, type?: string) => new UnauthenticatedError(detail, type);

function header(headers: HeaderBag, name: string): string | string[] | undefined {
  if (Object.hasOwn(headers, name)) return headers[name];
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** The library reports failures as messages (which include the token); map them to safe details. */
function classify(error: unknown, source: TrustSource): AppError {
  const message = error instanceof Error ? error.message : '';
  if (error instanceof UnauthenticatedError || error instanceof UnavailableError) return error;
  if (message.startsWith('Failed to retrieve verification certificates')) {
    return new UnavailableError('The token signing keys could not be fetched; try again shortly.');
  }
  if (message.startsWith('No pem found for envelope') || message.startsWith('Invalid token signature')) {
    return fail('The token signature does not verify against the issuer\'s keys (bad signature or unknown key).');
  }
  if (message.startsWith('Token used too late')) return fail('The token has expired; get a new one.');
  if (message.startsWith('Token used too early')) return fail('The token is not valid yet; check the caller\'s clock.');
  if (message.startsWith('Expiration time too far in future')) return fail('The token lifetime is too long (more than 24 h).');
  if (message.startsWith('Invalid issuer')) return fail('The token was issued by an issuer this service does not trust.');
  if (message.startsWith('Wrong recipient')) {
    return fail(
      source.showAudience
        ? `The token was issued for a different audience; request one whose audience is "${source.audience}".`
        : 'The token was issued for a different audience.',
    );
  }
  if (/^No (issue|expiration) time in token|field using invalid format/.test(message)) {
    return fail('The token lacks valid "iat"/"exp" claims.');
  }
  return fail('The token could not be verified.');
}

export class TokenVerifier {
  private client: Promise<OAuth2Client> | null = null;
  private iapKeys: { keys: Certs; fetchedAt: number } | null = null;
  private iapFetch: Promise<Certs> | null = null;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly options: TokenVerifierOptions) {
    if (options.mode === 'local' && !options.localIssuer) throw new Error('Local identity mode needs the local issuer.');
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? rootLogger.child({ component: 'auth' });
  }

  async verify(headers: HeaderBag): Promise<Principal> {
    const iap = header(headers, IAP_HEADER);
    if (iap !== undefined) return this.check(this.single(iap, 'The IAP assertion header'), this.iapSource());

    const authorization = header(headers, 'authorization');
    if (authorization === undefined || authorization === '') {
      const serverless = header(headers, 'x-serverless-authorization') !== undefined;
      throw fail(
        serverless
          ? 'Missing Authorization header. X-Serverless-Authorization only carries the Cloud Run invoker token; send the application ID token as "Authorization: Bearer <token>".'
          : 'Missing Authorization header; send "Authorization: Bearer <ID token>".',
      );
    }
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(this.single(authorization, 'The Authorization header'));
    if (!match) throw fail('The Authorization header must be "Bearer <ID token>".');
    return this.check(match[1]!, this.idTokenSource());
  }

  private single(value: string | string[], what: string): string {
    if (Array.isArray(value)) {
      if (value.length !== 1) throw fail(`${what} must be sent exactly once.`);
      return value[0]!;
    }
    return value;
  }

  private async check(token: string, source: TrustSource): Promise<Principal> {
    if (token.length > MAX_TOKEN_CHARS) throw fail('The token is malformed (too long).');
    const decoded = decodeJwt(token);
    if (!decoded) throw fail('The token is malformed (expected a JWT: three base64url segments with JSON header and payload).');
    if (decoded.signature === STRIPPED_SIGNATURE) {
      throw fail(
        'The Authorization header holds a token whose signature Cloud Run removed after using it for IAM. ' +
          'Put the Cloud Run invoker token in "X-Serverless-Authorization" and the application ID token in "Authorization".',
        'iam-token-in-authorization',
      );
    }
    // Before any crypto: only the one algorithm this source signs with (never "none", never HMAC).
    if (decoded.header.alg !== source.alg) throw fail(`The token's signing algorithm is not accepted; expected ${source.alg}.`);
    if (typeof decoded.header.kid !== 'string' || decoded.header.kid === '') throw fail('The token is malformed (no key id).');
    if (decoded.header.crit !== undefined) throw fail('The token uses critical header extensions this service does not support.');

    let payload: Record<string, unknown>;
    try {
      payload = await source.check(await this.getClient(), token, decoded.header.kid);
    } catch (error) {
      const mapped = classify(error, source);
      // Only our own failures are worth a log line; a refused token is audited by the HTTP layer.
      if (mapped instanceof UnavailableError) this.logger.warn('token signing keys unavailable', { via: source.via, error: error instanceof Error ? error.message : String(error) });
      throw mapped;
    }
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) throw fail('The token lacks a valid "sub" or "email" claim.');
    const { email, email_verified, iss, sub } = claims.data;
    if (!email) {
      throw fail('The token carries no email claim; request an ID token that includes the email (e.g. gcloud --include-email, or format=full from the metadata server).');
    }
    if (source.requireVerifiedEmail && email_verified !== true && email_verified !== 'true') throw fail('The token\'s email address is not verified.');
    return { email: email.toLowerCase(), subject: sub, issuer: iss, via: source.via };
  }

  private idTokenSource(): TrustSource {
    const { audience } = this.options;
    if (this.options.mode === 'local') {
      const issuer = this.options.localIssuer!;
      return {
        via: 'id_token',
        alg: 'RS256',
        audience,
        showAudience: true,
        requireVerifiedEmail: true,
        async check(client, token) {
          const certs = await issuer.certs().catch(() => {
            throw new UnavailableError('The local token issuer is not available; check the local secrets folder.');
          });
          const ticket = await client.verifySignedJwtWithCertsAsync(token, certs, audience, [LOCAL_ISSUER]);
          return (ticket.getPayload() ?? {}) as Record<string, unknown>;
        },
      };
    }
    return {
      via: 'id_token',
      alg: 'RS256',
      audience,
      showAudience: true,
      requireVerifiedEmail: true,
      async check(client, token) {
        const ticket = await client.verifyIdToken({ idToken: token, audience });
        const payload = (ticket.getPayload() ?? {}) as Record<string, unknown>;
        // Independent of how the client was configured: only Google's own issuers.
        if (!(GOOGLE_ISSUERS as readonly unknown[]).includes(payload.iss)) throw new Error('Invalid issuer');
        return payload;
      },
    };
  }

  private iapSource(): TrustSource {
    const { iapAudience, mode } = this.options;
    if (mode !== 'google') throw fail('IAP assertions are not accepted in local mode; send "Authorization: Bearer <local token>".');
    if (!iapAudience) throw fail('An IAP assertion was sent, but this service is not configured for IAP; send "Authorization: Bearer <ID token>".');
    return {
      via: 'iap',
      alg: 'ES256',
      audience: iapAudience,
      showAudience: false,
      // IAP has authenticated the user already and does not send email_verified.
      requireVerifiedEmail: false,
      check: async (client, token, kid) => {
        const ticket = await client.verifySignedJwtWithCertsAsync(token, await this.iapCerts(client, kid), iapAudience, [IAP_ISSUER]);
        return (ticket.getPayload() ?? {}) as Record<string, unknown>;
      },
    };
  }

  /** IAP keys rotate rarely; cache them for an hour and refresh early (rate-limited) on an unknown kid. */
  private async iapCerts(client: OAuth2Client, kid: string): Promise<Certs> {
    const now = this.clock.now().getTime();
    const cached = this.iapKeys;
    if (cached && now - cached.fetchedAt < IAP_KEYS_MAX_AGE_MS && (Object.hasOwn(cached.keys, kid) || now - cached.fetchedAt < IAP_KEYS_MIN_REFRESH_MS)) {
      return cached.keys;
    }
    this.iapFetch ??= (async () => {
      try {
        const { pubkeys } = await client.getIapPublicKeysAsync();
        const keys = Object.fromEntries(Object.entries(pubkeys ?? {}).filter(([, pem]) => typeof pem === 'string')) as Certs;
        this.iapKeys = { keys, fetchedAt: this.clock.now().getTime() };
        return keys;
      } catch {
        // Keys that are merely old are still better than refusing everyone while gstatic is away.
        if (this.iapKeys) return this.iapKeys.keys;
        throw new UnavailableError('The token signing keys could not be fetched; try again shortly.');
      } finally {
        this.iapFetch = null;
      }
    })();
    return this.iapFetch;
  }

  private getClient(): Promise<OAuth2Client> {
    this.client ??= (async () => {
      if (this.options.client) return this.options.client;
      const { OAuth2Client } = await import('google-auth-library');
      return new OAuth2Client({ issuers: [...GOOGLE_ISSUERS], ...(this.options.certsUrl ? { endpoints: { oauth2FederatedSignonPemCertsUrl: this.options.certsUrl } } : {}) });
    })().catch((error) => {
      this.client = null;
      throw error;
    });
    return this.client;
  }
}
