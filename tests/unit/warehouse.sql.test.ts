import { normaliseSql, sqlHash } from '../../shared/guard/normalise.js';
import { CONTRACT } from '../../shared/warehouse/contract.js';
import { estimateScanBytes } from '../../shared/warehouse/estimate.js';

describe('query identity (sql_hash)', () => {
  it('ignores comments and layout but not literals', () => {
    const a = "SELECT user_id FROM dim_users WHERE plan = 'pro' -- a comment\n ORDER BY user_id;";
    const b = "SELECT   user_id\nFROM dim_users /* block */ WHERE plan = 'pro' ORDER BY user_id";
    expect(normaliseSql(a)).toBe("SELECT user_id FROM dim_users WHERE plan = 'pro' ORDER BY user_id");
    expect(sqlHash(a)).toBe(sqlHash(b));
    expect(sqlHash(a)).not.toBe(sqlHash(a.replace("'pro'", "'pro '")));
    expect(sqlHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps comment markers and spacing inside strings', () => {
    expect(normaliseSql("SELECT 'a  -- b' AS x")).toBe("SELECT 'a  -- b' AS x");
  });
});

describe('local byte estimate', () => {
  const stats = { rowCount: 1000, avgStringBytes: { user_id: 10, voice_id: 20, ip: 12 } };

  it('prices the columns read over the rows scanned, the way BigQuery bills them', () => {
    // user_id: 2 + 10 bytes; characters (INT64): 8; event_ts (TIMESTAMP): 8 → 28 bytes per row.
    expect(estimateScanBytes('fct_tts_usage', ['user_id', 'characters', 'event_ts'], 1000, stats)).toBe(28_000);
    expect(estimateScanBytes('fct_tts_usage', ['user_id', 'characters', 'event_ts'], 10, stats)).toBe(280);
  });

  it('counts every column for a full row', () => {
    const all = CONTRACT.fct_tts_usage.columns.map((c) => c.name);
    expect(estimateScanBytes('fct_tts_usage', all, 1, stats)).toBeGreaterThan(estimateScanBytes('fct_tts_usage', ['user_id'], 1, stats));
  });
});
