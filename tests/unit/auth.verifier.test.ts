import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, createHmac, type KeyObject } from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';
import { LOCAL_ISSUER, LOCAL_ISSUER_KEY_SECRET, LocalIssuer } from '../../shared/auth/local-issuer.js';
import { TokenVerifier, type HeaderBag } from '../../shared/auth/verifier.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { toProblem } from '../../shared/platform/problem.js';
import type { SecretStore } from '../../shared/secrets/port.js';

/** A dependency stand-in: the file-backed store has its own integration test. */
class MemorySecrets implements SecretStore {
  readonly values = new Map<string, string>();
  async get(name: string) {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`missing ${name}`);
    return v;
  }
  async getOrCreate(name: string, create: () => string) {
    if (!this.values.has(name)) this.values.set(name, create());
    return this.values.get(name)!;
  }
}

const AUDIENCE = 'https://tsi-api.example.run.app';
const IAP_AUDIENCE = '/projects/123/global/backendServices/456';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

function jwt(header: object, payload: object, key: KeyObject | string, alg: 'RS256' | 'ES256' = 'RS256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = alg === 'ES256' ? sign('sha256', Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key);
  return `${input}.${sig.toString('base64url')}`;
}

const bearer = (token: string): HeaderBag => ({ authorization: `Bearer ${token}` });

/** What the caller would receive: status, problem type slug and detail. */
async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (e: unknown) => e,
  );
  const { problem, known } = toProblem(error);
  expect(known).toBe(true);
  return { status: problem.status, type: String(problem.type).replace('https://tsi.dev/problems/', ''), detail: String(problem.detail), raw: JSON.stringify({ problem, message: (error as Error).message }) };
}

describe('TokenVerifier, local mode', () => {
  const secrets = new MemorySecrets();
  const issuer = new LocalIssuer(secrets);
  const verifier = new TokenVerifier({ mode: 'local', audience: AUDIENCE, localIssuer: issuer });
  let localKey: KeyObject;
  let kid: string;

  beforeAll(async () => {
    kid = Object.keys(await issuer.certs())[0]!;
    const stored = JSON.parse(await secrets.get(LOCAL_ISSUER_KEY_SECRET));
    const { createPrivateKey } = await import('node:crypto');
    localKey = createPrivateKey(stored.private_key_pem);
  });

  const claims = (over: object = {}) => ({ iss: LOCAL_ISSUER, aud: AUDIENCE, sub: 'local-x', email: 'analyst@example.com', email_verified: true, iat: nowS(), exp: nowS() + 600, ...over });

  it('turns a valid local token into a principal', async () => {
    const token = await issuer.issue('Analyst@Example.com', { audience: AUDIENCE });
    const principal = await verifier.verify(bearer(token));
    expect(principal).toEqual({ email: 'analyst@example.com', subject: expect.stringMatching(/^local-[0-9a-f]{24}$/), issuer: LOCAL_ISSUER, via: 'id_token' });
    // Same principal, same subject.
    const again = await verifier.verify(bearer(await issuer.issue('analyst@example.com', { audience: AUDIENCE })));
    expect(again.subject).toBe(principal.subject);
  });

  it('accepts the header under any casing and the scheme in any case', async () => {
    const token = await issuer.issue('lead@example.com', { audience: AUDIENCE });
    await expect(verifier.verify({ Authorization: `bearer ${token}` })).resolves.toMatchObject({ email: 'lead@example.com' });
  });

  it('refuses a request without an Authorization header', async () => {
    const r = await refusal(verifier.verify({}));
    expect(r).toMatchObject({ status: 401, type: 'unauthenticated' });
    expect(r.detail).toMatch(/Missing Authorization header/);
  });

  it('explains that X-Serverless-Authorization alone is not the application token', async () => {
    const token = await issuer.issue('lead@example.com', { audience: AUDIENCE });
    const r = await refusal(verifier.verify({ 'x-serverless-authorization': `Bearer ${token}` }));
    expect(r.status).toBe(401);
    expect(r.detail).toMatch(/X-Serverless-Authorization only carries the Cloud Run invoker token/);
  });

  it.each([
    ['not Bearer', 'Basic dXNlcjpwYXNz', /must be "Bearer <ID token>"/],
    ['not a JWT', 'Bearer not-a-jwt', /malformed/],
    ['segments not JSON', 'Bearer aaaa.bbbb.cccc', /malformed/],
    ['too long', `Bearer ${'a'.repeat(9000)}`, /malformed/],
  ])('refuses a malformed credential (%s)', async (_name, value, detail) => {
    const r = await refusal(verifier.verify({ authorization: value }));
    expect(r).toMatchObject({ status: 401, type: 'unauthenticated' });
    expect(r.detail).toMatch(detail);
  });

  it('refuses an Authorization header sent twice', async () => {
    const token = await issuer.issue('lead@example.com', { audience: AUDIENCE });
    const r = await refusal(verifier.verify({ authorization: [`Bearer ${token}`, `Bearer ${token}`] }));
    expect(r.detail).toMatch(/exactly once/);
  });

  it('refuses an expired token', async () => {
    const past = new LocalIssuer(secrets, { clock: new ManualClock(new Date(Date.now() - 3 * 3600_000)) });
    const token = await past.issue('analyst@example.com', { audience: AUDIENCE, ttlSeconds: 3600 });
    const r = await refusal(verifier.verify(bearer(token)));
    expect(r).toMatchObject({ status: 401, type: 'unauthenticated' });
    expect(r.detail).toMatch(/expired/);
  });

  it('refuses a token for another audience, naming the expected one', async () => {
    const token = await issuer.issue('analyst@example.com', { audience: 'https://other-service.example' });
    const r = await refusal(verifier.verify(bearer(token)));
    expect(r.status).toBe(401);
    expect(r.detail).toMatch(/different audience/);
    expect(r.detail).toContain(AUDIENCE);
  });

  it('refuses a token from another issuer even when signed with the right key', async () => {
    const token = jwt({ alg: 'RS256', typ: 'JWT', kid }, claims({ iss: 'https://evil.example' }), localKey);
    const r = await refusal(verifier.verify(bearer(token)));
    expect(r.status).toBe(401);
    expect(r.detail).toMatch(/issuer this service does not trust/);
  });

  it('refuses alg "none" and HMAC before any signature check', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims())}.`;
    const publicPem = (await issuer.certs())[kid]!;
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(claims())}`;
    const hs256 = `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`;
    for (const token of [none, hs256]) {
      const r = await refusal(verifier.verify(bearer(token)));
      expect(r.status).toBe(401);
      expect(r.detail).toMatch(/signing algorithm is not accepted; expected RS256/);
    }
  });

  it('refuses a token signed by another key, with or without the right kid', async () => {
    const { privateKey: other } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const header of [{ alg: 'RS256', kid }, { alg: 'RS256', kid: 'someone-elses-key' }]) {
      const r = await refusal(verifier.verify(bearer(jwt(header, claims(), other))));
      expect(r.status).toBe(401);
      expect(r.detail).toMatch(/signature does not verify/);
    }
  });

  it('refuses a token without a verified email', async () => {
    const noEmail = jwt({ alg: 'RS256', kid }, { ...claims(), email: undefined }, localKey);
    expect((await refusal(verifier.verify(bearer(noEmail)))).detail).toMatch(/no email claim/);
    const unverified = jwt({ alg: 'RS256', kid }, claims({ email_verified: false }), localKey);
    expect((await refusal(verifier.verify(bearer(unverified)))).detail).toMatch(/not verified/);
  });

  it('answers a Cloud Run IAM token in Authorization with iam-token-in-authorization', async () => {
    const token = await issuer.issue('analyst@example.com', { audience: AUDIENCE });
    const stripped = token.split('.').slice(0, 2).join('.') + '.SIGNATURE_REMOVED_BY_GOOGLE';
    const r = await refusal(verifier.verify(bearer(stripped)));
    expect(r).toMatchObject({ status: 401, type: 'iam-token-in-authorization' });
    expect(r.detail).toMatch(/"X-Serverless-Authorization"/);
    expect(r.detail).toMatch(/application ID token in "Authorization"/);
  });

  it('never echoes the token or its claims in what the caller sees', async () => {
    const { privateKey: other } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const payloadSegment = b64(claims());
    const badSignature = jwt({ alg: 'RS256', kid }, claims(), other);
    const expired = await new LocalIssuer(secrets, { clock: new ManualClock(new Date(Date.now() - 3 * 3600_000)) }).issue('analyst@example.com', { audience: AUDIENCE });
    for (const token of [badSignature, expired]) {
      const r = await refusal(verifier.verify(bearer(token)));
      expect(r.raw).not.toContain(token.split('.')[1]!);
      expect(r.raw).not.toContain(payloadSegment);
      expect(r.raw).not.toContain('analyst@example.com');
    }
  });

  it('does not accept IAP assertions in local mode', async () => {
    const r = await refusal(verifier.verify({ 'x-goog-iap-jwt-assertion': 'a.b.c' }));
    expect(r.status).toBe(401);
    expect(r.detail).toMatch(/not accepted in local mode/);
  });
});

describe('TokenVerifier, production path with test keys playing Google and IAP', () => {
  const google = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const iap = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const GOOGLE_KID = 'google-test-kid';
  const IAP_KID = 'iap-test-kid';
  let server: Server;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    const certs = { [GOOGLE_KID]: google.publicKey.export({ type: 'spki', format: 'pem' }) };
    const iapKeys = { [IAP_KID]: iap.publicKey.export({ type: 'spki', format: 'pem' }) };
    server = createServer((req, res) => {
      const body = req.url === '/oauth2/v1/certs' ? certs : req.url === '/iap/verify/public_key' ? iapKeys : null;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      res.end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The real client, only its key URLs moved to the local stand-in.
    const client = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: `${base}/oauth2/v1/certs`, oauth2IapPublicKeyUrl: `${base}/iap/verify/public_key` } });
    verifier = new TokenVerifier({ mode: 'google', audience: AUDIENCE, iapAudience: IAP_AUDIENCE, client });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const googleClaims = (over: object = {}) => ({
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    sub: '10769150350006150715113082367',
    email: 'svc-caller@project.iam.gserviceaccount.com',
    email_verified: true,
    iat: nowS(),
    exp: nowS() + 3600,
    ...over,
  });
  const iapClaims = (over: object = {}) => ({ iss: 'https://cloud.google.com/iap', aud: IAP_AUDIENCE, sub: 'accounts.google.com:1234', email: 'Lead@Example.com', iat: nowS(), exp: nowS() + 600, ...over });

  it('accepts a Google-signed ID token with the right audience', async () => {
    const token = jwt({ alg: 'RS256', kid: GOOGLE_KID, typ: 'JWT' }, googleClaims(), google.privateKey);
    await expect(verifier.verify(bearer(token))).resolves.toEqual({
      email: 'svc-caller@project.iam.gserviceaccount.com',
      subject: '10769150350006150715113082367',
      issuer: 'https://accounts.google.com',
      via: 'id_token',
    });
    const bare = jwt({ alg: 'RS256', kid: GOOGLE_KID }, googleClaims({ iss: 'accounts.google.com' }), google.privateKey);
    await expect(verifier.verify(bearer(bare))).resolves.toMatchObject({ issuer: 'accounts.google.com' });
  });

  it('refuses a Google-signed ID token for another audience', async () => {
    const token = jwt({ alg: 'RS256', kid: GOOGLE_KID }, googleClaims({ aud: 'https://someone-else.run.app' }), google.privateKey);
    const r = await refusal(verifier.verify(bearer(token)));
    expect(r.status).toBe(401);
    expect(r.detail).toMatch(/different audience/);
  });

  it('refuses a Google-signed token whose issuer is not Google accounts', async () => {
    const token = jwt({ alg: 'RS256', kid: GOOGLE_KID }, googleClaims({ iss: 'https://securetoken.google.com/x' }), google.privateKey);
    expect((await refusal(verifier.verify(bearer(token)))).detail).toMatch(/issuer this service does not trust/);
  });

  it('tells a caller whose ID token has no email how to get one', async () => {
    const token = jwt({ alg: 'RS256', kid: GOOGLE_KID }, { ...googleClaims(), email: undefined, email_verified: undefined }, google.privateKey);
    expect((await refusal(verifier.verify(bearer(token)))).detail).toMatch(/no email claim.*include/);
  });

  it('does not accept a local-issuer token in production', async () => {
    const local = new LocalIssuer(new MemorySecrets());
    const token = await local.issue('admin@example.com', { audience: AUDIENCE });
    const r = await refusal(verifier.verify(bearer(token)));
    expect(r.status).toBe(401);
    expect(r.detail).toMatch(/signature does not verify/);
  });

  it('accepts an IAP assertion (ES256) with the configured IAP audience, ignoring Authorization', async () => {
    const token = jwt({ alg: 'ES256', kid: IAP_KID, typ: 'JWT' }, iapClaims(), iap.privateKey, 'ES256');
    await expect(verifier.verify({ 'x-goog-iap-jwt-assertion': token, authorization: 'Bearer garbage' })).resolves.toEqual({
      email: 'lead@example.com',
      subject: 'accounts.google.com:1234',
      issuer: 'https://cloud.google.com/iap',
      via: 'iap',
    });
  });

  it('refuses IAP assertions with the wrong audience, issuer, algorithm or key', async () => {
    const wrongAud = jwt({ alg: 'ES256', kid: IAP_KID }, iapClaims({ aud: '/projects/123/global/backendServices/999' }), iap.privateKey, 'ES256');
    const r1 = await refusal(verifier.verify({ 'x-goog-iap-jwt-assertion': wrongAud }));
    expect(r1.detail).toMatch(/different audience\.$/);
    expect(r1.detail).not.toContain(IAP_AUDIENCE);

    const wrongIss = jwt({ alg: 'ES256', kid: IAP_KID }, iapClaims({ iss: 'https://accounts.google.com' }), iap.privateKey, 'ES256');
    expect((await refusal(verifier.verify({ 'x-goog-iap-jwt-assertion': wrongIss }))).detail).toMatch(/issuer/);

    const rs = jwt({ alg: 'RS256', kid: GOOGLE_KID }, iapClaims(), google.privateKey);
    expect((await refusal(verifier.verify({ 'x-goog-iap-jwt-assertion': rs }))).detail).toMatch(/expected ES256/);

    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = jwt({ alg: 'ES256', kid: IAP_KID }, iapClaims(), otherKey, 'ES256');
    expect((await refusal(verifier.verify({ 'x-goog-iap-jwt-assertion': forged }))).detail).toMatch(/signature does not verify/);
  });

  it('refuses IAP assertions when no IAP audience is configured', async () => {
    const noIap = new TokenVerifier({ mode: 'google', audience: AUDIENCE, client: new OAuth2Client() });
    const token = jwt({ alg: 'ES256', kid: IAP_KID }, iapClaims(), iap.privateKey, 'ES256');
    expect((await refusal(noIap.verify({ 'x-goog-iap-jwt-assertion': token }))).detail).toMatch(/not configured for IAP/);
  });
});

describe('TokenVerifier when the key endpoint is down', () => {
  it('answers 503 (our problem), not 401', async () => {
    const broken = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
      const client = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: `${base}/certs`, oauth2IapPublicKeyUrl: `${base}/iap` } });
      const lines: string[] = [];
      const logger = new Logger({}, (line) => lines.push(line));
      const verifier = new TokenVerifier({ mode: 'google', audience: AUDIENCE, iapAudience: IAP_AUDIENCE, client, logger });
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const idToken = jwt({ alg: 'RS256', kid: 'k' }, { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '1', email: 'a@example.com', iat: nowS(), exp: nowS() + 60 }, rsa);
      expect(await refusal(verifier.verify(bearer(idToken)))).toMatchObject({ status: 503, type: 'unavailable' });
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const assertion = jwt({ alg: 'ES256', kid: 'k' }, { iss: 'https://cloud.google.com/iap', aud: IAP_AUDIENCE, sub: '1', email: 'a@example.com', iat: nowS(), exp: nowS() + 60 }, ec, 'ES256');
      expect(await refusal(verifier.verify({ 'x-goog-iap-jwt-assertion': assertion }))).toMatchObject({ status: 503, type: 'unavailable' });
      // Operators see why; the tokens themselves are not in the log.
      expect(lines.map((l) => JSON.parse(l).message)).toEqual(['token signing keys unavailable', 'token signing keys unavailable']);
      expect(lines.join('\n')).not.toContain(idToken.split('.')[1]!);
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });
});
