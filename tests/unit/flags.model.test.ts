import { FLAG_DEFINITIONS, PutFlagSchema, isFlagName, resolveFlags } from '../../shared/flags/model.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { TtlCache } from '../../shared/platform/ttl-cache.js';

describe('feature flag definitions', () => {
  it('declares the documented defaults', () => {
    expect(Object.fromEntries(Object.entries(FLAG_DEFINITIONS).map(([k, v]) => [k, v.default]))).toEqual({ llm_planner: false, adhoc_sql: true, webhooks: false });
    for (const def of Object.values(FLAG_DEFINITIONS)) expect(def.description.length).toBeGreaterThan(20);
  });

  it('knows only declared names (not inherited object keys)', () => {
    expect(isFlagName('webhooks')).toBe(true);
    expect(isFlagName('toString')).toBe(false);
    expect(isFlagName('nope')).toBe(false);
  });

  it('uses a stored value over the default and ignores undeclared stored flags', () => {
    const states = resolveFlags(new Map([
      ['webhooks', { enabled: true, reason: 'launch', updated_by: 'admin@example.com', updated_at: '2026-01-01T00:00:00.000Z' }],
      ['retired_flag', { enabled: true, reason: 'x', updated_by: 'a', updated_at: 'b' }],
    ]));
    expect(states.map((s) => [s.name, s.enabled, s.source])).toEqual([
      ['llm_planner', false, 'default'],
      ['adhoc_sql', true, 'default'],
      ['webhooks', true, 'stored'],
    ]);
    expect(states[2]).toMatchObject({ default: false, reason: 'launch', updated_by: 'admin@example.com' });
  });

  it('requires a boolean and a reason to change a flag', () => {
    expect(PutFlagSchema.safeParse({ enabled: true, reason: 'roll out to everyone' }).success).toBe(true);
    expect(PutFlagSchema.safeParse({ enabled: 'yes', reason: 'roll out' }).success).toBe(false);
    expect(PutFlagSchema.safeParse({ enabled: true }).success).toBe(false);
    expect(PutFlagSchema.safeParse({ enabled: true, reason: 'ok', extra: 1 }).success).toBe(false);
  });
});

describe('TtlCache', () => {
  const setup = (retryMs = 5_000) => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    const stale: number[] = [];
    const cache = new TtlCache<string>({ clock, ttlMs: 30_000, maxStaleMs: 60_000, retryMs, onStale: (_k, _e, age) => stale.push(age) });
    let value = 'v1';
    let fail = false;
    let loads = 0;
    const load = async () => {
      loads++;
      if (fail) throw new Error('backend down');
      return value;
    };
    return { clock, cache, stale, load, set: (v: string) => (value = v), failing: (f: boolean) => (fail = f), loads: () => loads };
  };

  it('reuses a value within the TTL and picks up a new one after it', async () => {
    const t = setup();
    await expect(t.cache.get('k', t.load)).resolves.toBe('v1');
    t.set('v2');
    t.clock.advance(29_999);
    await expect(t.cache.get('k', t.load)).resolves.toBe('v1');
    t.clock.advance(1);
    await expect(t.cache.get('k', t.load)).resolves.toBe('v2');
    expect(t.loads()).toBe(2);
  });

  it('shares one load between concurrent callers', async () => {
    const t = setup();
    await Promise.all([t.cache.get('k', t.load), t.cache.get('k', t.load), t.cache.get('k', t.load)]);
    expect(t.loads()).toBe(1);
  });

  it('serves the last good value for a bounded time when a reload fails, retrying at most every retryMs', async () => {
    const t = setup();
    await t.cache.get('k', t.load);
    t.failing(true);
    t.clock.advance(31_000);
    await expect(t.cache.get('k', t.load)).resolves.toBe('v1');
    await expect(t.cache.get('k', t.load)).resolves.toBe('v1');
    expect(t.loads()).toBe(2); // the second call did not retry yet
    expect(t.stale).toEqual([31_000]);
    t.clock.advance(5_000);
    await expect(t.cache.get('k', t.load)).resolves.toBe('v1');
    expect(t.loads()).toBe(3);
    t.clock.advance(60_000); // past ttl + maxStale
    await expect(t.cache.get('k', t.load)).rejects.toThrow('backend down');
  });

  it('recovers once the backend answers again', async () => {
    const t = setup(0);
    await t.cache.get('k', t.load);
    t.failing(true);
    t.clock.advance(31_000);
    await t.cache.get('k', t.load);
    t.failing(false);
    t.set('v3');
    await expect(t.cache.get('k', t.load)).resolves.toBe('v3');
  });

  it('does not cache a failure and has nothing to serve before the first success', async () => {
    const t = setup();
    t.failing(true);
    await expect(t.cache.get('k', t.load)).rejects.toThrow('backend down');
    t.failing(false);
    await expect(t.cache.get('k', t.load)).resolves.toBe('v1');
  });

  it('forgets on invalidate, even a load already in flight', async () => {
    const t = setup();
    let release!: (v: string) => void;
    const slow = t.cache.get('k', () => new Promise<string>((r) => (release = r)));
    t.cache.invalidate('k');
    release('old');
    await expect(slow).resolves.toBe('old');
    await expect(t.cache.get('k', t.load)).resolves.toBe('v1');
  });
});
