/**
 * Where bearer tokens come from. Production: Google-signed ID tokens for the API's audience
 * (google-auth-library, loaded only when used). Locally: the local stack's token issuer.
 */
export interface TokenProvider {
  token(): Promise<string>;
}

export function staticToken(token: string): TokenProvider {
  return { token: async () => token };
}

/** Google ID tokens for `audience` (the API URL), from Application Default Credentials. */
export function googleIdToken(audience: string): TokenProvider {
  let client: Promise<{ idTokenProvider: { fetchIdToken(aud: string): Promise<string> } }> | null = null;
  return {
    async token() {
      client ??= import('google-auth-library').then(({ GoogleAuth }) => new GoogleAuth().getIdTokenClient(audience) as never);
      return (await client).idTokenProvider.fetchIdToken(audience);
    },
  };
}

/** Tokens from the local stack's issuer (`POST /_local/token`), cached until a minute before they expire. */
export function localToken(opts: { baseUrl: string; email: string; fetch?: typeof fetch; now?: () => number }): TokenProvider {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const now = opts.now ?? Date.now;
  let cached: { token: string; until: number } | null = null;
  return {
    async token() {
      if (cached && cached.until > now()) return cached.token;
      const res = await doFetch(`${opts.baseUrl.replace(/\/+$/, '')}/_local/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ email: opts.email }),
      });
      if (!res.ok) throw new Error(`local token for ${opts.email}: HTTP ${res.status}`);
      const body = (await res.json()) as { token: string; expires_at?: string };
      const expires = body.expires_at ? Date.parse(body.expires_at) : now() + 10 * 60_000;
      cached = { token: body.token, until: expires - 60_000 };
      return body.token;
    },
  };
}
