import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import type { SecretStore } from '../../secrets/port.js';
import { deterministicPlanner, planInvestigation, type Planner } from '../planner.js';
import { createLlmPlanner } from './planner.js';

export { createLlmPlanner, buildChatRequest, toolsFor, validateToolCalls, promptQuestion, SUBJECT_PLACEHOLDER, MAX_LLM_STEPS } from './planner.js';
export { requestToolCalls, LlmCallError } from './chat.js';

/** The feature flag that turns the LLM planner on (off by default; the flag module owns its state). */
export const LLM_PLANNER_FLAG = 'llm_planner';

export interface ConfiguredPlannerDeps {
  config: Pick<Config, 'llm'>;
  secrets: Pick<SecretStore, 'get'>;
  /** Asked on every plan; absent, failing or false means the deterministic planner. */
  isLlmPlannerEnabled?: () => Promise<boolean>;
  logger?: Logger;
  fetch?: typeof fetch;
}

/**
 * The planner a worker should use: the deterministic one unless the `llm_planner` flag is on, in
 * which case the LLM planner (which itself falls back to the deterministic plan on any problem).
 * A flag that is on without TSI_LLM_ENDPOINT / TSI_LLM_MODEL runs the deterministic plan and says why.
 */
export function createConfiguredPlanner(deps: ConfiguredPlannerDeps): Planner {
  const { endpoint, model, apiKeySecret, timeoutMs } = deps.config.llm;
  const log = deps.logger?.child({ component: 'planner' });
  const llm =
    endpoint && model
      ? createLlmPlanner({ endpoint, model, timeoutMs, apiKey: () => deps.secrets.get(apiKeySecret), ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.logger ? { logger: deps.logger } : {}) })
      : null;
  return {
    async plan(request) {
      let enabled = false;
      try {
        enabled = (await deps.isLlmPlannerEnabled?.()) ?? false;
      } catch (error) {
        log?.warn('could not read the llm_planner flag; using the deterministic planner', { error: String(error) });
      }
      if (!enabled) return deterministicPlanner.plan(request);
      if (!llm) return { ...planInvestigation(request), fallback_reason: 'the llm_planner flag is on but TSI_LLM_ENDPOINT or TSI_LLM_MODEL is not set' };
      return llm.plan(request);
    },
  };
}
