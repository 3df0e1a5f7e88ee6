import { loadConfig } from '../../shared/platform/config.js';
import { ConfigError } from '../../shared/platform/errors.js';

describe('config', () => {
  it('defaults to local mode with every local adapter', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('local');
    expect(config.port).toBe(8080);
    expect(config.adapters).toEqual({ store: 'emulator', warehouse: 'duckdb', events: 'local', secrets: 'local', audit: 'local', identity: 'local' });
  });
  it('refuses production with a local adapter, naming it', () => {
    expect(() => loadConfig({ TSI_MODE: 'production', GOOGLE_CLOUD_PROJECT: 'p', TSI_AUDIENCE: 'a', TSI_WAREHOUSE: 'duckdb' })).toThrow(/warehouse/);
    expect(() => loadConfig({ TSI_MODE: 'production', GOOGLE_CLOUD_PROJECT: 'p', TSI_AUDIENCE: 'a', TSI_IDENTITY: 'local' })).toThrow(ConfigError);
  });
  it('accepts production with cloud adapters and required settings', () => {
    const config = loadConfig({ TSI_MODE: 'production', GOOGLE_CLOUD_PROJECT: 'p', TSI_AUDIENCE: 'https://api.example' });
    expect(config.adapters.store).toBe('firestore');
    expect(config.adapters.identity).toBe('google');
  });
  it('refuses production when an emulator variable would redirect a Google client', () => {
    expect(() => loadConfig({ TSI_MODE: 'production', GOOGLE_CLOUD_PROJECT: 'p', TSI_AUDIENCE: 'a', FIRESTORE_EMULATOR_HOST: '127.0.0.1:8085' })).toThrow(/FIRESTORE_EMULATOR_HOST/);
  });

  it('refuses production without a project or audience', () => {
    expect(() => loadConfig({ TSI_MODE: 'production' })).toThrow(/GOOGLE_CLOUD_PROJECT/);
  });
  it('reports invalid values clearly', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  });
});
