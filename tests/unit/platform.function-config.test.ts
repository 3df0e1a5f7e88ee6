import { MANIFEST } from '../../functions/manifest.js';
import { CONFIG_KEYS } from '../../shared/platform/config.js';
import { ConfigError } from '../../shared/platform/errors.js';
import { FUNCTION_SETTINGS, knownSetting, loadFunctionConfig } from '../../shared/platform/function-config.js';

const prodEnv = (name: string): NodeJS.ProcessEnv => {
  const spec = MANIFEST.functions.find((f) => f.name === name)!;
  const env: NodeJS.ProcessEnv = {};
  for (const key of spec.env) env[key] = 'x';
  Object.assign(env, { TSI_MODE: 'production', GOOGLE_CLOUD_PROJECT: 'tsi-prod', TSI_AUDIENCE: 'https://api', TSI_REGION: 'europe-west1', LOG_LEVEL: 'INFO', TSI_LEASE_SECONDS: '120', TSI_MAX_ATTEMPTS: '3', TSI_FIRESTORE_DATABASE: '(default)' });
  if (spec.env.includes('TSI_KMS_KEY')) env.TSI_KMS_KEY = 'projects/p/locations/europe-west1/keyRings/r/cryptoKeys/kek';
  if (spec.env.includes('TSI_BACKUP_BUCKET')) env.TSI_BACKUP_BUCKET = 'tsi-prod-backups';
  if (spec.env.includes('TSI_VAULT_BUCKET')) env.TSI_VAULT_BUCKET = 'tsi-prod-vault';
  if (spec.env.includes('TSI_AUDIT_CHECKPOINT_BUCKET')) env.TSI_AUDIT_CHECKPOINT_BUCKET = 'tsi-prod-audit-checkpoints';
  for (const key of Object.keys(spec.secrets)) env[key] = 'mounted-secret';
  return env;
};

describe('per-function config schema', () => {
  it('names only settings the config loader or the function schema knows', () => {
    for (const f of MANIFEST.functions) for (const key of f.env) expect([f.name, key, knownSetting(key)]).toEqual([f.name, key, true]);
    expect(CONFIG_KEYS).toContain('TSI_AUDIENCE');
    expect(Object.keys(FUNCTION_SETTINGS)).toContain('TSI_KMS_KEY');
  });

  it('starts every function with the settings and secrets its schema lists', () => {
    for (const f of MANIFEST.functions) {
      const cfg = loadFunctionConfig(f.name, prodEnv(f.name));
      expect(cfg.config.mode).toBe('production');
      expect(Object.keys(cfg.secrets).sort()).toEqual(Object.keys(f.secrets).sort());
    }
  });

  it('refuses to start in production without a required setting, naming the field', () => {
    const env = prodEnv('worker');
    delete env.TSI_WAREHOUSE_PROJECT;
    expect(() => loadFunctionConfig('worker', env)).toThrow(ConfigError);
    expect(() => loadFunctionConfig('worker', env)).toThrow(/function "worker":\n\s+TSI_WAREHOUSE_PROJECT: required in production/);
  });

  it('refuses a missing secret mount and a malformed setting, and never prints secret values', () => {
    const env = prodEnv('webhooks');
    delete env.TSI_WEBHOOK_SECRETS_KEY;
    expect(() => loadFunctionConfig('webhooks', env)).toThrow(/TSI_WEBHOOK_SECRETS_KEY: required in production \(mounted from Secret Manager secret "webhook-secrets-key"\)/);
    const bad = { ...prodEnv('erasure'), TSI_KMS_KEY: 'kek' };
    expect(() => loadFunctionConfig('erasure', bad)).toThrow(/TSI_KMS_KEY: must be a Cloud KMS key name/);
    const shared = { ...prodEnv('api'), TSI_STORE: 'emulator' };
    expect(() => loadFunctionConfig('api', shared)).toThrow(/function "api".*local adapter/s);
  });

  it('needs nothing extra in local mode', () => {
    expect(loadFunctionConfig('worker', { TSI_MODE: 'local' }).config.mode).toBe('local');
    expect(() => loadFunctionConfig('nope', {})).toThrow(/not in functions\/manifest.json/);
  });
});
