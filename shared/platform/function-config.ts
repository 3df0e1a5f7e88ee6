import { z } from 'zod';
import { functionSpec, type FunctionSpec } from '../../functions/manifest.js';
import { CONFIG_KEYS, loadConfig, type Config } from './config.js';
import { ConfigError } from './errors.js';

/**
 * Per-function start-up config. Each function's entry in functions/manifest.json names the
 * settings it needs in production and the secrets mounted from Secret Manager; Terraform sets
 * exactly those (tests/infra/terraform.test.ts checks it). A missing or malformed one stops
 * start-up with a message naming the field, so a bad deploy never receives traffic.
 */

/** Settings some functions need that the shared loader does not know (validated here). */
export const FUNCTION_SETTINGS: Readonly<Record<string, z.ZodType<string>>> = {
  TSI_KMS_KEY: z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/, 'must be a Cloud KMS key name (projects/…/cryptoKeys/…)'),
  TSI_BACKUP_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a Cloud Storage bucket name'),
  LOG_LEVEL: z.string().regex(/^(debug|info|notice|warning|error|critical)$/i, 'must be a log severity'),
};

export interface FunctionConfig {
  name: string;
  spec: FunctionSpec;
  config: Config;
  /** The function-specific settings (FUNCTION_SETTINGS) present in the environment. */
  settings: Record<string, string>;
  /** Secret values by env name, mounted from Secret Manager (production) — never log them. */
  secrets: Record<string, string>;
}

/** Loads and validates the config of one function. Throws ConfigError naming every bad field. */
export function loadFunctionConfig(name: string, source: NodeJS.ProcessEnv = process.env): FunctionConfig {
  const spec = functionSpec(name);
  const production = source.TSI_MODE === 'production';
  const problems: string[] = [];
  const settings: Record<string, string> = {};
  for (const key of spec.env) {
    const value = source[key];
    if (value === undefined || value.trim() === '') {
      if (production) problems.push(`  ${key}: required in production (set by Terraform from functions/manifest.json)`);
      continue;
    }
    const check = FUNCTION_SETTINGS[key];
    if (check) {
      const parsed = check.safeParse(value);
      if (parsed.success) settings[key] = parsed.data;
      else problems.push(`  ${key}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
  }
  const secrets: Record<string, string> = {};
  for (const [key, secretId] of Object.entries(spec.secrets)) {
    const value = source[key];
    if (value === undefined || value === '') {
      if (production) problems.push(`  ${key}: required in production (mounted from Secret Manager secret "${secretId}")`);
      continue;
    }
    secrets[key] = value;
  }
  if (problems.length) throw new ConfigError(`Invalid configuration for function "${name}":\n${problems.join('\n')}`);
  let config: Config;
  try {
    config = loadConfig(source);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`Invalid configuration for function "${name}": ${error.message}`);
    throw error;
  }
  return { name, spec, config, settings, secrets };
}

/** Settings a manifest entry may name: the shared loader's plus FUNCTION_SETTINGS. */
export function knownSetting(key: string): boolean {
  return CONFIG_KEYS.includes(key) || key in FUNCTION_SETTINGS;
}
