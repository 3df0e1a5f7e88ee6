import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { LOCAL_ISSUER, LOCAL_ISSUER_KEY_SECRET, LocalIssuer } from '../../shared/auth/local-issuer.js';
import { base64url } from '../../shared/auth/jwt.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { startTestStack, type TestStack } from './harness.js';

let stack: TestStack;
let key: { kid: string; private_key_pem: string };
beforeAll(async () => {
  stack = await startTestStack();
  key = JSON.parse(await stack.runtime.secrets.get(LOCAL_ISSUER_KEY_SECRET));
});
afterAll(async () => {
  await stack.destroy();
});

function jwt(header: Record<string, unknown>, claims: Record<string, unknown>, privateKeyPem: string | null): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  if (!privateKeyPem) return `${input}.`;
  return `${input}.${base64url(sign('sha256', Buffer.from(input), createPrivateKey(privateKeyPem)))}`;
}

const now = () => Math.floor(Date.now() / 1000);
const claims = (over: Record<string, unknown> = {}) => ({ iss: LOCAL_ISSUER, aud: stack.config.audience, sub: 'analyst@example.com', email: 'analyst@example.com', email_verified: true, iat: now(), exp: now() + 600, ...over });

async function status(authorization: string | null): Promise<{ status: number; body: any }> {
  return stack.call('GET', '/v1/investigations', authorization === null ? {} : { headers: { authorization } });
}

describe('every request needs a valid bearer ID token', () => {
  it('accepts a token of the local issuer (control case)', async () => {
    expect((await status(`Bearer ${jwt({ alg: 'RS256', kid: key.kid, typ: 'JWT' }, claims(), key.private_key_pem)}`)).status).toBe(200);
  });

  const cases: [string, () => Promise<string | null>][] = [
    ['missing Authorization header', async () => null],
    ['not a bearer token', async () => 'Basic YWJjOmRlZg=='],
    ['malformed token', async () => 'Bearer not.a.jwt'],
    ['expired token', async () => `Bearer ${await new LocalIssuer(stack.runtime.secrets, { clock: new ManualClock(new Date(Date.now() - 3 * 3600_000)) }).issue('analyst@example.com', { audience: stack.config.audience, ttlSeconds: 600 })}`],
    ['wrong audience', async () => `Bearer ${await stack.runtime.issuer!.issue('analyst@example.com', { audience: 'https://someone-else.example', ttlSeconds: 600 })}`],
    ['wrong issuer', async () => `Bearer ${jwt({ alg: 'RS256', kid: key.kid, typ: 'JWT' }, claims({ iss: 'https://evil.example' }), key.private_key_pem)}`],
    ['alg none', async () => `Bearer ${jwt({ alg: 'none', typ: 'JWT' }, claims(), null)}`],
    ['signed by another key', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      return `Bearer ${jwt({ alg: 'RS256', kid: key.kid, typ: 'JWT' }, claims(), other.privateKey)}`;
    }],
    ['signature removed by Google (IAM token forwarded)', async () => `Bearer ${jwt({ alg: 'RS256', kid: key.kid }, claims(), null)}SIGNATURE_REMOVED_BY_GOOGLE`],
  ];

  it.each(cases)('%s → 401 problem+json', async (_name, make) => {
    const header = await make();
    const res = await status(header);
    expect(res.status).toBe(401);
    expect(res.body.type).toMatch(/^https:\/\/tsi\.dev\/problems\//);
    expect(res.body.status).toBe(401);
    if (header) expect(JSON.stringify(res.body)).not.toContain(header.replace(/^\w+ /, ''));
  });

  it('records denied requests in the audit log', async () => {
    await status('Bearer not.a.jwt');
    const compliance = await stack.token('compliance@example.com');
    const audit = await stack.call('GET', '/v1/audit?action=investigations.list&page_size=500', { token: compliance });
    expect(audit.body.items.some((r: any) => r.outcome === 'denied' && r.status === 401 && r.actor === null)).toBe(true);
  });
});
