/**
 * Compact JWS plumbing shared by the local issuer and the verifier. Decoding here never trusts
 * anything: it only tells the verifier what the token claims to be before the signature check.
 */
export function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signature: string;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;

function decodeJson(segment: string): Record<string, unknown> | null {
  if (!segment || !SEGMENT.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Splits and parses a compact JWT; null when it is not one. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [h, p, signature] = parts as [string, string, string];
  const header = decodeJson(h);
  const payload = decodeJson(p);
  if (!header || !payload) return null;
  return { header, payload, signature };
}
