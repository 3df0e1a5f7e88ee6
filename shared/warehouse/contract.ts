/**
 * The warehouse contract (../shared/warehouse-contract.md) as data: the single source of truth for
 * table and column names, BigQuery types, nullability, personal-data flags, enum values, partition
 * columns and primary keys. PII masking, the folder loader's validation and the local DDL all read
 * it, so a change to the contract is a change here and nowhere else.
 */

export type BigQueryType = 'STRING' | 'TIMESTAMP' | 'BOOL' | 'INT64' | 'FLOAT64' | 'NUMERIC';

/** How a personal-data value is masked for callers without PII access. */
export type PiiKind = 'email' | 'ip' | 'fingerprint' | 'text';

export interface ColumnSpec {
  readonly name: string;
  readonly type: BigQueryType;
  readonly nullable: boolean;
  /** Personal data: masked for roles without PII access, never logged, encrypted when copied. */
  readonly pii: boolean;
  /** Masking style, set exactly when `pii` is true. */
  readonly piiKind?: PiiKind;
  /** Allowed values (closed vocabularies of the contract). */
  readonly enum?: readonly string[];
  /** Foreign key, `table.column`. */
  readonly references?: string;
}

export interface TableSpec {
  readonly name: TableName;
  readonly description: string;
  readonly columns: readonly ColumnSpec[];
  /** Primary key columns; null when the contract names none. */
  readonly primaryKey: readonly string[] | null;
  /** Partitioned by DATE(<column>) in BigQuery. */
  readonly partitionColumn: string | null;
  /** BigQuery rejects queries without a filter on the partition column. */
  readonly requirePartitionFilter: boolean;
  /** The column whose maximum says how fresh the table is (partition column, else creation time). */
  readonly freshnessColumn: string;
}

export const TABLE_NAMES = ['dim_users', 'fct_tts_usage', 'dim_voices', 'fct_moderation_flags', 'fct_logins', 'fct_payments'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

export const PLANS = ['free', 'starter', 'creator', 'pro', 'scale', 'business', 'enterprise'] as const;
export const ACCOUNT_STATUSES = ['active', 'suspended', 'banned', 'deleted'] as const;
export const USAGE_SOURCES = ['api', 'web'] as const;
export const VOICE_TYPES = ['premade', 'cloned_instant', 'cloned_professional', 'generated'] as const;
export const VERIFICATION_STATUSES = ['unverified', 'verified', 'rejected'] as const;
export const MODERATION_CATEGORIES = ['fraud', 'impersonation', 'hate', 'sexual_minors', 'self_harm', 'violence', 'spam', 'political', 'other'] as const;
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const FLAG_SOURCES = ['classifier', 'user_report', 'manual'] as const;
export const ACTIONS_TAKEN = ['none', 'warned', 'blocked', 'suspended', 'banned'] as const;
export const PAYMENT_STATUSES = ['succeeded', 'failed', 'refunded', 'chargeback'] as const;

export type Plan = (typeof PLANS)[number];
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];
export type ModerationCategory = (typeof MODERATION_CATEGORIES)[number];
export type Severity = (typeof SEVERITIES)[number];
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

type Col = Omit<ColumnSpec, 'nullable' | 'pii'> & { nullable?: boolean; pii?: PiiKind };
const col = ({ pii, nullable, ...rest }: Col): ColumnSpec => ({ ...rest, nullable: nullable ?? false, pii: pii !== undefined, ...(pii ? { piiKind: pii } : {}) });

export const CONTRACT: { readonly [T in TableName]: TableSpec } = {
  dim_users: {
    name: 'dim_users',
    description: 'one row per account',
    primaryKey: ['user_id'],
    partitionColumn: null,
    requirePartitionFilter: false,
    freshnessColumn: 'created_at',
    columns: [
      col({ name: 'user_id', type: 'STRING' }),
      col({ name: 'email', type: 'STRING', pii: 'email' }),
      col({ name: 'display_name', type: 'STRING', pii: 'text', nullable: true }),
      col({ name: 'created_at', type: 'TIMESTAMP' }),
      col({ name: 'country', type: 'STRING', nullable: true }),
      col({ name: 'plan', type: 'STRING', enum: PLANS }),
      col({ name: 'account_status', type: 'STRING', enum: ACCOUNT_STATUSES }),
      col({ name: 'signup_ip', type: 'STRING', pii: 'ip' }),
      col({ name: 'identity_verified', type: 'BOOL' }),
    ],
  },
  fct_tts_usage: {
    name: 'fct_tts_usage',
    description: 'one row per text-to-speech request',
    primaryKey: ['request_id'],
    partitionColumn: 'event_ts',
    requirePartitionFilter: true,
    freshnessColumn: 'event_ts',
    columns: [
      col({ name: 'event_ts', type: 'TIMESTAMP' }),
      col({ name: 'request_id', type: 'STRING' }),
      col({ name: 'user_id', type: 'STRING', references: 'dim_users.user_id' }),
      col({ name: 'voice_id', type: 'STRING', references: 'dim_voices.voice_id' }),
      col({ name: 'model_id', type: 'STRING' }),
      col({ name: 'characters', type: 'INT64' }),
      col({ name: 'source', type: 'STRING', enum: USAGE_SOURCES }),
      col({ name: 'api_key_id', type: 'STRING', nullable: true }),
      col({ name: 'ip', type: 'STRING', pii: 'ip' }),
      col({ name: 'country', type: 'STRING', nullable: true }),
      col({ name: 'text_sha256', type: 'STRING' }),
      col({ name: 'moderation_score', type: 'FLOAT64' }),
      col({ name: 'moderation_category', type: 'STRING', nullable: true, enum: MODERATION_CATEGORIES }),
    ],
  },
  dim_voices: {
    name: 'dim_voices',
    description: 'one row per voice',
    primaryKey: ['voice_id'],
    partitionColumn: null,
    requirePartitionFilter: false,
    freshnessColumn: 'created_at',
    columns: [
      col({ name: 'voice_id', type: 'STRING' }),
      col({ name: 'owner_user_id', type: 'STRING', nullable: true, references: 'dim_users.user_id' }),
      col({ name: 'voice_type', type: 'STRING', enum: VOICE_TYPES }),
      col({ name: 'name', type: 'STRING' }),
      col({ name: 'created_at', type: 'TIMESTAMP' }),
      col({ name: 'sample_sha256', type: 'STRING', nullable: true }),
      col({ name: 'verification_status', type: 'STRING', enum: VERIFICATION_STATUSES }),
      col({ name: 'is_public', type: 'BOOL' }),
      col({ name: 'likeness_flag', type: 'STRING', nullable: true }),
    ],
  },
  fct_moderation_flags: {
    name: 'fct_moderation_flags',
    description: 'one row per flag raised on a request or account',
    primaryKey: ['flag_id'],
    partitionColumn: 'flagged_at',
    requirePartitionFilter: false,
    freshnessColumn: 'flagged_at',
    columns: [
      col({ name: 'flag_id', type: 'STRING' }),
      col({ name: 'flagged_at', type: 'TIMESTAMP' }),
      col({ name: 'user_id', type: 'STRING', references: 'dim_users.user_id' }),
      col({ name: 'request_id', type: 'STRING', nullable: true, references: 'fct_tts_usage.request_id' }),
      col({ name: 'voice_id', type: 'STRING', nullable: true, references: 'dim_voices.voice_id' }),
      col({ name: 'category', type: 'STRING', enum: MODERATION_CATEGORIES }),
      col({ name: 'severity', type: 'STRING', enum: SEVERITIES }),
      col({ name: 'source', type: 'STRING', enum: FLAG_SOURCES }),
      col({ name: 'excerpt', type: 'STRING', nullable: true, pii: 'text' }),
      col({ name: 'action_taken', type: 'STRING', nullable: true, enum: ACTIONS_TAKEN }),
    ],
  },
  fct_logins: {
    name: 'fct_logins',
    description: 'one row per login attempt',
    primaryKey: null,
    partitionColumn: 'login_ts',
    requirePartitionFilter: false,
    freshnessColumn: 'login_ts',
    columns: [
      col({ name: 'login_ts', type: 'TIMESTAMP' }),
      col({ name: 'user_id', type: 'STRING', references: 'dim_users.user_id' }),
      col({ name: 'ip', type: 'STRING', pii: 'ip' }),
      col({ name: 'device_fingerprint', type: 'STRING', pii: 'fingerprint' }),
      col({ name: 'user_agent', type: 'STRING', pii: 'text' }),
      col({ name: 'success', type: 'BOOL' }),
    ],
  },
  fct_payments: {
    name: 'fct_payments',
    description: 'one row per payment attempt',
    primaryKey: ['payment_id'],
    partitionColumn: 'payment_ts',
    requirePartitionFilter: false,
    freshnessColumn: 'payment_ts',
    columns: [
      col({ name: 'payment_ts', type: 'TIMESTAMP' }),
      col({ name: 'payment_id', type: 'STRING' }),
      col({ name: 'user_id', type: 'STRING', references: 'dim_users.user_id' }),
      col({ name: 'card_fingerprint', type: 'STRING', pii: 'fingerprint' }),
      col({ name: 'card_country', type: 'STRING', nullable: true }),
      col({ name: 'amount_usd', type: 'NUMERIC' }),
      col({ name: 'status', type: 'STRING', enum: PAYMENT_STATUSES }),
    ],
  },
};

/** A column of the contract, written `table.column`. */
export type ColumnRef = `${TableName}.${string}`;

export function isTableName(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

export function columnSpec(ref: ColumnRef): ColumnSpec {
  const [table, column] = ref.split('.') as [string, string];
  if (!isTableName(table)) throw new Error(`Unknown contract table "${table}"`);
  const spec = CONTRACT[table].columns.find((c) => c.name === column);
  if (!spec) throw new Error(`Unknown contract column "${ref}"`);
  return spec;
}

export function columnNames(table: TableName): string[] {
  return CONTRACT[table].columns.map((c) => c.name);
}

/** Every personal-data column, as `table.column`. */
export function piiColumns(): ColumnRef[] {
  return TABLE_NAMES.flatMap((t) => CONTRACT[t].columns.filter((c) => c.pii).map((c) => `${t}.${c.name}` as ColumnRef));
}

/** BigQuery's billed size of a value of each fixed-width type (STRING is 2 bytes + UTF-8 length). */
export const FIXED_WIDTH_BYTES: Record<Exclude<BigQueryType, 'STRING'>, number> = {
  TIMESTAMP: 8,
  BOOL: 1,
  INT64: 8,
  FLOAT64: 8,
  NUMERIC: 16,
};

/** The DuckDB type each contract type is stored as locally. */
export const DUCKDB_TYPES: Record<BigQueryType, string> = {
  STRING: 'VARCHAR',
  TIMESTAMP: 'TIMESTAMP',
  BOOL: 'BOOLEAN',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  NUMERIC: 'DECIMAL(38, 9)',
};
