import { createHash } from 'node:crypto';
import { CONTRACT, TABLE_NAMES } from '../../shared/warehouse/contract.js';
import { CORE_MAX_USERS, DATA_DAYS, DEMO, generateWarehouse, generateWarehouseData, type GeneratedData } from '../../shared/warehouse/generator.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

function fingerprint(data: GeneratedData): string {
  const h = createHash('sha256');
  for (const t of TABLE_NAMES) for (const row of data.tables[t]) h.update(JSON.stringify(row));
  return h.digest('hex');
}

describe('synthetic warehouse generator', () => {
  let data: GeneratedData;
  beforeAll(() => {
    data = generateWarehouseData({ users: 400, seed: 42, now: NOW });
  });

  it('is deterministic for a seed and never uses Math.random', () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error('Math.random used');
    };
    try {
      const again = generateWarehouseData({ users: 400, seed: 42, now: NOW });
      expect(fingerprint(again)).toBe(fingerprint(data));
      expect(again.groundTruth).toEqual(data.groundTruth);
      expect(fingerprint(generateWarehouseData({ users: 400, seed: 43, now: NOW }))).not.toBe(fingerprint(data));
    } finally {
      Math.random = original;
    }
  });

  it('writes exactly the contract: columns, types, required values, enums, unique keys', () => {
    // Violations are collected and asserted once: one expect() per cell would take minutes.
    const problems = new Set<string>();
    const jsType = { STRING: 'string', INT64: 'number', FLOAT64: 'number', NUMERIC: 'number', BOOL: 'boolean', TIMESTAMP: 'object' } as const;
    for (const table of TABLE_NAMES) {
      const spec = CONTRACT[table];
      const rows = data.tables[table];
      if (!rows.length) problems.add(`${table}: empty`);
      const columns = spec.columns.map((c) => c.name).sort().join(',');
      for (const row of rows) {
        if (Object.keys(row).sort().join(',') !== columns) problems.add(`${table}: columns ${Object.keys(row).join(',')}`);
        for (const c of spec.columns) {
          const v = row[c.name];
          if (v === null || v === undefined) {
            if (!c.nullable) problems.add(`${table}.${c.name}: null`);
            continue;
          }
          if (typeof v !== jsType[c.type]) problems.add(`${table}.${c.name}: ${typeof v}`);
          if (c.type === 'TIMESTAMP' && !(v instanceof Date)) problems.add(`${table}.${c.name}: not a Date`);
          if (c.type === 'INT64' && !Number.isInteger(v)) problems.add(`${table}.${c.name}: not an integer`);
          if (c.enum && !c.enum.includes(String(v))) problems.add(`${table}.${c.name}: ${String(v)} not in enum`);
          if (c.piiKind === 'email' && v !== String(v).toLowerCase()) problems.add(`${table}.${c.name}: not lower-case`);
        }
      }
      if (spec.primaryKey) {
        const keys = rows.map((r) => spec.primaryKey!.map((k) => r[k]).join('|'));
        if (new Set(keys).size !== keys.length) problems.add(`${table}: duplicate primary keys`);
      }
    }
    expect([...problems]).toEqual([]);
  });

  it('keeps references intact and every event inside the data window, before now', () => {
    const problems = new Set<string>();
    const users = new Set(data.tables.dim_users.map((u) => u.user_id));
    const voices = new Set(data.tables.dim_voices.map((v) => v.voice_id));
    const requests = new Set(data.tables.fct_tts_usage.map((r) => r.request_id));
    for (const r of data.tables.fct_tts_usage) {
      if (!users.has(r.user_id)) problems.add('usage → unknown user');
      if (!voices.has(r.voice_id)) problems.add('usage → unknown voice');
    }
    for (const f of data.tables.fct_moderation_flags) {
      if (!users.has(f.user_id)) problems.add('flag → unknown user');
      if (f.request_id !== null && !requests.has(f.request_id)) problems.add('flag → unknown request');
    }
    for (const v of data.tables.dim_voices) if (v.owner_user_id !== null && !users.has(v.owner_user_id)) problems.add('voice → unknown owner');
    const earliest = NOW.getTime() - (DATA_DAYS + 1) * DAY;
    for (const [table, column] of [['fct_tts_usage', 'event_ts'], ['fct_logins', 'login_ts'], ['fct_payments', 'payment_ts'], ['fct_moderation_flags', 'flagged_at']] as const) {
      for (const row of data.tables[table]) {
        const t = (row[column] as Date).getTime();
        if (t < earliest || t >= NOW.getTime()) problems.add(`${table}.${column} outside the window`);
      }
    }
    expect([...problems]).toEqual([]);
  });

  it('plants every abuse pattern several times, and most accounts are clean', () => {
    const { patterns, accounts } = data.groundTruth;
    const names = ['linked_accounts', 'ban_evasion', 'impersonation', 'usage_anomaly', 'moderation_history', 'moderation_escalation', 'payment_risk', 'account_status'] as const;
    expect(names.filter((n) => patterns[n].length < 3)).toEqual([]);
    expect(Object.keys(accounts).length / data.tables.dim_users.length).toBeLessThan(0.2);
    expect(patterns.moderation_escalation).toContain(DEMO.flagged.user_id);
    // Negative controls are clean by the ground truth.
    for (const n of data.groundTruth.negative_controls) expect(accounts[n.user_id]).toBeUndefined();
  });

  it('shares identifiers only where a linked-accounts pattern was planted', () => {
    const linked = new Set(data.groundTruth.patterns.linked_accounts);
    const owners = new Map<string, Set<string>>();
    const add = (key: string, user: unknown) => {
      const set = owners.get(key) ?? new Set<string>();
      set.add(String(user));
      owners.set(key, set);
    };
    for (const l of data.tables.fct_logins) {
      add(`device:${l.device_fingerprint}`, l.user_id);
      add(`ip:${l.ip}`, l.user_id);
    }
    for (const u of data.tables.dim_users) add(`ip:${u.signup_ip}`, u.user_id);
    for (const p of data.tables.fct_payments) add(`card:${p.card_fingerprint}`, p.user_id);
    for (const users of owners.values()) {
      if (users.size > 1) for (const u of users) expect(linked.has(u)).toBe(true);
    }
  });

  it('has the documented demo subjects with stable emails and ids across seeds', () => {
    const other = generateWarehouseData({ users: 120, seed: 7, now: NOW });
    for (const d of [data, other]) {
      const byKey = Object.fromEntries(d.groundTruth.demo_subjects.map((s) => [s.key, s]));
      expect(byKey.clean).toMatchObject({ subject: { type: 'email', value: DEMO.clean.email }, user_ids: [DEMO.clean.user_id], expected_findings: [] });
      expect(byKey.ban_evader!.expected_findings).toEqual(expect.arrayContaining(['ban_evasion', 'linked_accounts']));
      expect(byKey.ring_member!.expected_findings).toEqual(['linked_accounts']);
      expect(byKey.voice_owner!.expected_findings).toContain('impersonation');
      expect(byKey.spiky!.expected_findings).toEqual(['usage_anomaly']);
      expect(byKey.critical_flag).toMatchObject({ expected_findings: ['moderation_history'], escalate: true });
      expect(byKey.payment_risk!.expected_findings).toEqual(['payment_risk']);
      expect(byKey.not_found!.user_ids).toEqual([]);
      const emails = new Set(d.tables.dim_users.map((u) => u.email));
      for (const s of d.groundTruth.demo_subjects) if (s.subject.type === 'email' && s.key !== 'not_found') expect(emails.has(s.subject.value)).toBe(true);
    }
  });

  it('looks like a TTS product: most accounts clean, a quarter dormant, tens to hundreds of requests per active account', () => {
    const perUser = new Map<string, number>();
    for (const r of data.tables.fct_tts_usage) perUser.set(r.user_id as string, (perUser.get(r.user_id as string) ?? 0) + 1);
    const counts = [...perUser.values()].sort((a, b) => a - b);
    const median = counts[counts.length >> 1]!;
    expect(Object.keys(data.groundTruth.accounts).length / data.tables.dim_users.length).toBeLessThan(0.25);
    expect(perUser.size / data.tables.dim_users.length).toBeGreaterThan(0.6);
    expect(perUser.size / data.tables.dim_users.length).toBeLessThan(0.85);
    expect(median).toBeGreaterThan(20);
    expect(median).toBeLessThan(500);
    const chars = data.tables.fct_tts_usage.map((r) => r.characters as number);
    expect(Math.max(...chars)).toBeLessThanOrEqual(5_000);
  });

  it('adds ordinary accounts in streamed chunks to reach a usage volume, keeping the planted truth', () => {
    const chunks: number[] = [];
    const result = generateWarehouse({ users: 300, seed: 42, now: NOW, usageRows: 120_000 }, (table, rows) => {
      if (table === 'fct_tts_usage') chunks.push(rows.length);
    });
    expect(result.rows.fct_tts_usage).toBeGreaterThanOrEqual(120_000);
    expect(result.rows.fct_tts_usage).toBeLessThan(160_000);
    expect(chunks.length).toBeGreaterThan(2);
    expect(result.groundTruth.users).toBe(result.rows.dim_users);
    expect(result.groundTruth.users).toBeGreaterThan(300);
    const small = generateWarehouseData({ users: 300, seed: 42, now: NOW }).groundTruth;
    // The planted scenarios and demo subjects do not move when volume is added.
    expect(result.groundTruth.demo_subjects).toEqual(small.demo_subjects);
    for (const [id, findings] of Object.entries(small.accounts)) expect(result.groundTruth.accounts[id]).toEqual(findings);
    // Added accounts are clean by construction: at most their own status or benign flags.
    const added = Object.entries(result.groundTruth.accounts).filter(([id]) => !small.accounts[id]);
    for (const [, findings] of added) expect(findings.every((f) => f === 'account_status' || f === 'moderation_history')).toBe(true);
    expect(added.length / (result.groundTruth.users - 300)).toBeLessThan(0.15);
  });

  it('streams populations above the in-memory core with unique ids and the exact requested size', () => {
    const ids = new Set<string>();
    let dupes = 0;
    const result = generateWarehouse({ users: CORE_MAX_USERS + 700, seed: 9, now: NOW }, (table, rows) => {
      if (table !== 'dim_users') return;
      for (const r of rows) {
        if (ids.has(r.user_id as string)) dupes++;
        ids.add(r.user_id as string);
      }
    });
    expect(dupes).toBe(0);
    expect(ids.size).toBe(CORE_MAX_USERS + 700);
    expect(result.groundTruth.users).toBe(CORE_MAX_USERS + 700);
  });

  it('refuses a population too small for the planted scenarios', () => {
    expect(() => generateWarehouseData({ users: 10, seed: 1, now: NOW })).toThrow(/users must be/);
  });
});
