import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { FeatureFlags } from '../../shared/flags/flags.js';
import { FEATURE_FLAGS_COLLECTION } from '../../shared/flags/model.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { NotFoundError } from '../../shared/platform/errors.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

describe('FeatureFlags on Firestore (embedded emulator)', () => {
  let server: LocalFirestoreServer;
  let db: Firestore;
  let dir: string;
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));
  const logs: string[] = [];
  const logger = new Logger({}, (l) => logs.push(l));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-flags-'));
    server = new LocalFirestoreServer({ dataDir: dir, logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
  });
  afterAll(async () => {
    await db.terminate();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const d of (await db.collection(FEATURE_FLAGS_COLLECTION).get()).docs) await d.ref.delete();
  });

  it('answers the defaults from code when nothing is stored', async () => {
    const flags = new FeatureFlags(db, { clock, logger });
    await expect(flags.isEnabled('llm_planner')).resolves.toBe(false);
    await expect(flags.isEnabled('adhoc_sql')).resolves.toBe(true);
    expect((await flags.list()).every((f) => f.source === 'default')).toBe(true);
  });

  it('stores a change with who and why, returns before/after, and sees it at once on the same instance', async () => {
    const flags = new FeatureFlags(db, { clock, logger });
    await expect(flags.isEnabled('webhooks')).resolves.toBe(false);
    const change = await flags.set('webhooks', { enabled: true, reason: 'endpoints registered' }, 'admin@example.com');
    expect(change.before).toMatchObject({ name: 'webhooks', enabled: false, source: 'default' });
    expect(change.after).toMatchObject({ enabled: true, source: 'stored', reason: 'endpoints registered', updated_by: 'admin@example.com', updated_at: '2026-03-01T09:00:00.000Z' });
    await expect(flags.isEnabled('webhooks')).resolves.toBe(true);
    const again = await flags.set('webhooks', { enabled: false, reason: 'incident 42' }, 'admin@example.com');
    expect(again.before).toMatchObject({ enabled: true, source: 'stored', reason: 'endpoints registered' });
  });

  it('caches reads for the TTL: another instance sees a change only after it', async () => {
    const reader = new FeatureFlags(db, { clock, logger, ttlMs: 30_000 });
    const writer = new FeatureFlags(db, { clock, logger });
    await expect(reader.isEnabled('llm_planner')).resolves.toBe(false);
    await writer.set('llm_planner', { enabled: true, reason: 'pilot' }, 'admin@example.com');
    clock.advance(29_000);
    await expect(reader.isEnabled('llm_planner')).resolves.toBe(false);
    clock.advance(1_000);
    await expect(reader.isEnabled('llm_planner')).resolves.toBe(true);
  });

  it('refuses an undeclared flag with not-found and writes nothing', async () => {
    const flags = new FeatureFlags(db, { clock, logger });
    await expect(flags.set('teleport', { enabled: true, reason: 'why not' }, 'admin@example.com')).rejects.toBeInstanceOf(NotFoundError);
    expect((await db.collection(FEATURE_FLAGS_COLLECTION).get()).size).toBe(0);
  });

  it('falls back to the default, loudly, for a damaged stored flag', async () => {
    await db.collection(FEATURE_FLAGS_COLLECTION).doc('adhoc_sql').set({ enabled: 'nope' });
    const flags = new FeatureFlags(db, { clock, logger });
    await expect(flags.isEnabled('adhoc_sql')).resolves.toBe(true);
    expect(logs.some((l) => l.includes('stored feature flag is invalid'))).toBe(true);
  });
});
