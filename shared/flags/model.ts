import { z } from 'zod';

/**
 * Feature flags: every flag is declared here with its typed default, so code never depends on a
 * stored document existing. A stored value (Firestore `feature_flags/<name>`, changed by admins
 * through the API) overrides the default; a stored flag that is no longer declared is ignored.
 * Why these defaults: docs/decisions/0009-backup-and-flags.md.
 */
export const FLAG_DEFINITIONS = {
  llm_planner: {
    default: false,
    description: 'Plan investigation steps with the LLM planner instead of the deterministic rule planner. Off until evaluated against the ground truth.',
  },
  adhoc_sql: {
    default: true,
    description: 'Ad-hoc SQL through the query guard for holders of the ad-hoc permission. A kill switch: who may run it is the role table\'s job.',
  },
  webhooks: {
    default: false,
    description: 'Deliver events to registered webhook endpoints. Off until an admin turns on outbound delivery.',
  },
} as const satisfies Record<string, { default: boolean; description: string }>;

export type FlagName = keyof typeof FLAG_DEFINITIONS;
export const FLAG_NAMES = Object.keys(FLAG_DEFINITIONS) as FlagName[];

export const isFlagName = (name: string): name is FlagName => Object.hasOwn(FLAG_DEFINITIONS, name);

export const FEATURE_FLAGS_COLLECTION = 'feature_flags';

/** The stored document, validated whenever it is read back. */
export const StoredFlagSchema = z.strictObject({
  enabled: z.boolean(),
  reason: z.string(),
  updated_by: z.string(),
  updated_at: z.string(),
});
export type StoredFlag = z.infer<typeof StoredFlagSchema>;

export const PutFlagSchema = z.strictObject({
  enabled: z.boolean(),
  reason: z.string().trim().min(3).max(500),
});
export type PutFlag = z.infer<typeof PutFlagSchema>;

export interface FlagState {
  name: FlagName;
  enabled: boolean;
  default: boolean;
  description: string;
  /** `stored` when an admin set it, else the default from code. */
  source: 'default' | 'stored';
  reason: string | null;
  updated_by: string | null;
  updated_at: string | null;
}

/** Every declared flag with its effective value; pure. */
export function resolveFlags(stored: ReadonlyMap<string, StoredFlag>): FlagState[] {
  return FLAG_NAMES.map((name) => {
    const def = FLAG_DEFINITIONS[name];
    const s = stored.get(name);
    return {
      name,
      enabled: s ? s.enabled : def.default,
      default: def.default,
      description: def.description,
      source: s ? 'stored' : 'default',
      reason: s?.reason ?? null,
      updated_by: s?.updated_by ?? null,
      updated_at: s?.updated_at ?? null,
    };
  });
}
