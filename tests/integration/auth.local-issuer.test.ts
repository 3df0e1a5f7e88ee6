import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_ISSUER, LOCAL_ISSUER_KEY_SECRET, LocalIssuer } from '../../shared/auth/local-issuer.js';
import { TokenVerifier } from '../../shared/auth/verifier.js';
import { loadConfig } from '../../shared/platform/config.js';
import { createSecretStore } from '../../shared/secrets/index.js';

describe('LocalIssuer with the local secret store', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tsi-issuer-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const issuerOn = (dir: string) => new LocalIssuer(createSecretStore(loadConfig({ TSI_DATA_DIR: dir })));

  it('keeps its key across restarts: a token from one instance verifies against the next', async () => {
    const before = issuerOn(dataDir);
    const token = await before.issue('analyst@example.com', { audience: 'tsi-local' });
    const certsBefore = await before.certs();

    const after = issuerOn(dataDir); // a fresh process would build exactly this
    expect(await after.certs()).toEqual(certsBefore);
    const verifier = new TokenVerifier({ mode: 'local', audience: 'tsi-local', localIssuer: after });
    await expect(verifier.verify({ authorization: `Bearer ${token}` })).resolves.toMatchObject({ email: 'analyst@example.com', issuer: LOCAL_ISSUER });
  });

  it('stores the key as an owner-only file and publishes one RSA public key under its kid', async () => {
    const file = join(dataDir, 'secrets', LOCAL_ISSUER_KEY_SECRET);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const certs = await issuerOn(dataDir).certs();
    const [kid, pem] = Object.entries(certs)[0]!;
    expect(Object.keys(certs)).toHaveLength(1);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(JSON.parse(readFileSync(file, 'utf8')).kid).toBe(kid);
  });

  it('issues Google-shaped RS256 ID tokens with a one-hour default lifetime', async () => {
    const token = await issuerOn(dataDir).issue('Lead@Example.com', { audience: 'tsi-local' });
    const [h, p] = token.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')));
    expect(h).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    expect(p).toEqual({ iss: LOCAL_ISSUER, aud: 'tsi-local', sub: expect.stringMatching(/^local-/), email: 'lead@example.com', email_verified: true, iat: expect.any(Number), exp: expect.any(Number) });
    expect(p.exp - p.iat).toBe(3600);
  });

  it('a different data folder means a different key: its tokens are refused', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'tsi-issuer-other-'));
    try {
      const foreign = await issuerOn(otherDir).issue('admin@example.com', { audience: 'tsi-local' });
      const verifier = new TokenVerifier({ mode: 'local', audience: 'tsi-local', localIssuer: issuerOn(dataDir) });
      await expect(verifier.verify({ authorization: `Bearer ${foreign}` })).rejects.toMatchObject({ status: 401, detail: expect.stringMatching(/signature does not verify/) });
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
