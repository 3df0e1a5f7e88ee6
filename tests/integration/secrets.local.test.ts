import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/platform/config.js';
import { createSecretStore } from '../../shared/secrets/index.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { MissingSecretError } from '../../shared/secrets/port.js';

describe('LocalSecretStore (files under <dataDir>/secrets)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tsi-secrets-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const mode = (path: string) => statSync(path).mode & 0o777;

  it('is what local config selects, and touches nothing until first use', async () => {
    const store = createSecretStore(loadConfig({ TSI_DATA_DIR: dataDir }));
    expect(store).toBeInstanceOf(LocalSecretStore);
    expect(readdirSync(dataDir)).toEqual([]);
    await store.getOrCreate('first', () => 'v1');
    expect(readdirSync(dataDir)).toEqual(['secrets']);
  });

  it('creates a secret on first use in a private folder, readable only by the owner', async () => {
    const store = new LocalSecretStore(join(dataDir, 'secrets'));
    await expect(store.getOrCreate('api-key', () => 'generated-1')).resolves.toBe('generated-1');
    expect(mode(join(dataDir, 'secrets'))).toBe(0o700);
    expect(mode(join(dataDir, 'secrets', 'api-key'))).toBe(0o600);
    // No temp files left behind.
    expect(readdirSync(join(dataDir, 'secrets'))).toEqual(['api-key']);
  });

  it('tightens a folder that already existed with wider permissions', async () => {
    const dir = join(dataDir, 'secrets');
    const { mkdirSync, chmodSync } = await import('node:fs');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    await new LocalSecretStore(dir).getOrCreate('k', () => 'v');
    expect(mode(dir)).toBe(0o700);
  });

  it('keeps the first value: later calls and new instances (restarts) never re-create it', async () => {
    const dir = join(dataDir, 'secrets');
    const first = new LocalSecretStore(dir);
    await first.getOrCreate('signing', () => 'original');
    let calls = 0;
    const again = () => {
      calls++;
      return 'replacement';
    };
    await expect(first.getOrCreate('signing', again)).resolves.toBe('original');
    const restarted = new LocalSecretStore(dir);
    await expect(restarted.getOrCreate('signing', again)).resolves.toBe('original');
    await expect(restarted.get('signing')).resolves.toBe('original');
    expect(calls).toBe(0);
  });

  it('gives every concurrent creator the same value, even across store instances', async () => {
    const dir = join(dataDir, 'secrets');
    const stores = Array.from({ length: 5 }, () => new LocalSecretStore(dir));
    let n = 0;
    const values = await Promise.all(stores.flatMap((s) => [s.getOrCreate('race', () => `value-${n++}`), s.getOrCreate('race', () => `value-${n++}`)]));
    expect(new Set(values).size).toBe(1);
    await expect(new LocalSecretStore(dir).get('race')).resolves.toBe(values[0]);
    expect(readdirSync(dir)).toEqual(['race']);
  });

  it('names a missing secret', async () => {
    const store = new LocalSecretStore(join(dataDir, 'secrets'));
    const error = await store.get('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingSecretError);
    expect((error as MissingSecretError).secretName).toBe('nope');
    expect((error as Error).message).toMatch(/Local secret "nope" does not exist/);
  });

  it('refuses names that could leave the secrets folder', async () => {
    const store = new LocalSecretStore(join(dataDir, 'secrets'));
    writeFileSync(join(dataDir, 'outside'), 'not a secret');
    for (const name of ['../outside', 'a/b', '', '.hidden', 'x'.repeat(256)]) {
      await expect(store.getOrCreate(name, () => 'v')).rejects.toThrow(/Invalid secret name/);
    }
  });
});
