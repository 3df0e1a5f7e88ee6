import { parse } from 'sql-parser-cst';
import { STEPS } from '../../shared/agent/steps.js';
import { CONTRACT } from '../../shared/warehouse/contract.js';
import { estimateBytes, referencedColumns } from '../../shared/warehouse/estimate.js';
import { bindParams, normaliseSql, parseTemplate, renderTemplate, sqlHash } from '../../shared/warehouse/sql.js';

const bigquery = (sql: string) => renderTemplate(parseTemplate(sql), { table: (t) => `\`proj.dataset.${t}\``, param: (p) => '@' + p });
const duckdb = (sql: string) => renderTemplate(parseTemplate(sql), { table: (t) => t, param: (p) => '$' + p });

describe('query templates', () => {
  it('maps table markers and named parameters to each engine, leaving strings and comments alone', () => {
    const sql = `SELECT user_id, '@not_a_param {{nope}}' AS s -- @comment
FROM {{dim_users}} WHERE email = @email AND created_at < @until`;
    expect(bigquery(sql)).toBe(`SELECT user_id, '@not_a_param {{nope}}' AS s  \nFROM \`proj.dataset.dim_users\` WHERE email = @email AND created_at < @until`);
    expect(duckdb(sql)).toContain('FROM dim_users WHERE email = $email AND created_at < $until');
    const parsed = parseTemplate(sql);
    expect(parsed.tables).toEqual(['dim_users']);
    expect(parsed.params).toEqual(['email', 'until']);
  });

  it.each([
    ['a write', 'DELETE FROM {{dim_users}}'],
    ['a second statement', 'SELECT 1; SELECT 2'],
    ['a table not in the contract', 'SELECT * FROM {{secrets}}'],
    ['a back-quoted table', 'SELECT * FROM `p.d.dim_users`'],
    ['a double-quoted string', 'SELECT "x" FROM {{dim_users}}'],
    ['a positional parameter', 'SELECT * FROM {{dim_users}} WHERE user_id = ?'],
    ['a system variable', 'SELECT @@project_id'],
    ['a # comment', 'SELECT 1 # hi'],
    ['an unterminated string', "SELECT 'x FROM {{dim_users}}"],
    ['a non-query', 'PRAGMA version'],
  ])('rejects %s', (_what, sql) => {
    expect(() => parseTemplate(sql)).toThrow();
  });

  it('passes exactly the referenced parameters and refuses a missing one', () => {
    const parsed = parseTemplate('SELECT user_id FROM {{dim_users}} WHERE user_id = @id');
    expect(bindParams(parsed, { id: 'u1', unused: 'x' })).toEqual({ id: 'u1' });
    expect(() => bindParams(parsed, { other: 1 })).toThrow(/@id/);
  });

  it('hashes the normalised template: layout and comments do not matter, literals do', () => {
    const a = 'SELECT user_id\n  FROM {{dim_users}}   -- who\n WHERE plan = \'pro\'';
    const b = 'SELECT user_id FROM {{dim_users}} /* x */ WHERE plan = \'pro\';';
    expect(normaliseSql(a)).toBe("SELECT user_id FROM {{dim_users}} WHERE plan = 'pro'");
    expect(sqlHash(a)).toBe(sqlHash(b));
    expect(sqlHash(a)).not.toBe(sqlHash(a.replace("'pro'", "'pro '")));
    expect(sqlHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('every agent step template is valid BigQuery syntax once spelled for BigQuery', () => {
    for (const step of Object.values(STEPS)) {
      expect(() => parse(bigquery(step.sql), { dialect: 'bigquery', paramTypes: ['@name'] })).not.toThrow();
    }
  });

  it('every agent step filters partitioned tables that require a partition filter on their partition column', () => {
    for (const step of Object.values(STEPS)) {
      const parsed = parseTemplate(step.sql);
      for (const table of parsed.tables) {
        const spec = CONTRACT[table];
        if (spec.requirePartitionFilter) expect(step.sql).toMatch(new RegExp(`${spec.partitionColumn} >= @`));
      }
    }
  });
});

describe('local byte estimate', () => {
  const stats = { fct_tts_usage: { rowCount: 1000, avgStringBytes: { user_id: 10, voice_id: 20, ip: 12 } } };

  it('prices the referenced columns of each table the way BigQuery bills them', () => {
    const parsed = parseTemplate('SELECT user_id, SUM(characters) AS c FROM {{fct_tts_usage}} WHERE event_ts >= @since GROUP BY user_id');
    expect(referencedColumns('fct_tts_usage', parsed).sort()).toEqual(['characters', 'event_ts', 'user_id']);
    // user_id: 2 + 10 bytes; characters (INT64): 8; event_ts (TIMESTAMP): 8 → 28 bytes × 1000 rows.
    expect(estimateBytes(parsed, stats)).toBe(28_000);
  });

  it('counts every column for SELECT * but not for SELECT * FROM UNNEST(@list)', () => {
    const star = parseTemplate('SELECT * FROM {{fct_tts_usage}}');
    expect(referencedColumns('fct_tts_usage', star)).toHaveLength(CONTRACT.fct_tts_usage.columns.length);
    const unnest = parseTemplate('SELECT ip FROM {{fct_tts_usage}} WHERE user_id IN (SELECT * FROM UNNEST(@ids))');
    expect(referencedColumns('fct_tts_usage', unnest).sort()).toEqual(['ip', 'user_id']);
  });
});
