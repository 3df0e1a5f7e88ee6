import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';

/**
 * Two small HTTP stand-ins that let a production bundle run unchanged on this machine:
 *
 * - `GoogleSigningKeys`: what `accounts.google.com` publishes (the PEM map of ID-token signing
 *   keys, at the URL given as TSI_GOOGLE_CERTS_URL) and a signer of Google-shaped ID tokens
 *   (RS256, `iss: https://accounts.google.com`, audience, verified email) with those keys, so
 *   the production verifier (google mode) checks real signatures — no local-issuer shortcut.
 * - `MetadataServer`: the GCE/Cloud Functions metadata server (`GCE_METADATA_HOST`): project id,
 *   service account email and an access token, which is how the Google client libraries get
 *   credentials in Cloud Functions.
 *
 * Used by the bundle suite and benchmarks; never by the platform.
 */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function close(server: Server | null): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

export class GoogleSigningKeys {
  private readonly kid = randomUUID().replace(/-/g, '');
  private readonly privateKey: KeyObject;
  private readonly publicPem: string;
  private server: Server | null = null;
  certsUrl = '';

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    // google-auth-library verifies against PEM certificates or keys; a SPKI public key works.
    this.publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.url !== '/oauth2/v1/certs') return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' });
      res.end(JSON.stringify({ [this.kid]: this.publicPem }));
    });
    this.certsUrl = `http://127.0.0.1:${await listen(this.server)}/oauth2/v1/certs`;
    return this.certsUrl;
  }

  /** A Google-shaped ID token for `email`, valid for `ttlSeconds`. */
  idToken(email: string, audience: string, ttlSeconds = 3600): string {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url({ alg: 'RS256', kid: this.kid, typ: 'JWT' });
    const payload = b64url({ iss: 'https://accounts.google.com', aud: audience, sub: `sub-${email}`, email, email_verified: true, iat: now, exp: now + ttlSeconds });
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(this.privateKey).toString('base64url');
    return `${header}.${payload}.${signature}`;
  }

  stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    return close(s);
  }
}

export class MetadataServer {
  private server: Server | null = null;
  readonly requests: string[] = [];

  constructor(private readonly projectId: string, private readonly serviceAccount: string) {}

  /** `host:port` for GCE_METADATA_HOST. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      this.requests.push(path);
      if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end();
      const answer = (body: string, type = 'application/text') => {
        res.writeHead(200, { 'Metadata-Flavor': 'Google', 'Content-Type': type });
        res.end(body);
      };
      const base = '/computeMetadata/v1';
      if (path === `${base}/instance` || path === `${base}/instance/`) return answer('{}', 'application/json');
      if (path === `${base}/project/project-id`) return answer(this.projectId);
      if (path === `${base}/project/numeric-project-id`) return answer('123456789012');
      if (path === `${base}/universe/universe-domain`) return answer('googleapis.com');
      if (path === `${base}/instance/service-accounts/default/email`) return answer(this.serviceAccount);
      if (path === `${base}/instance/service-accounts/default/token`) {
        return answer(JSON.stringify({ access_token: `local-${randomUUID()}`, expires_in: 3599, token_type: 'Bearer' }), 'application/json');
      }
      res.writeHead(404, { 'Metadata-Flavor': 'Google' }).end();
    });
    return `127.0.0.1:${await listen(this.server)}`;
  }

  stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    return close(s);
  }
}
