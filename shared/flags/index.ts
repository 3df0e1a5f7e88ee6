export { FeatureFlags, type FeatureFlagsOptions, type FlagChange } from './flags.js';
export { FLAG_DEFINITIONS, FLAG_NAMES, FEATURE_FLAGS_COLLECTION, isFlagName, resolveFlags, type FlagName, type FlagState } from './model.js';
export { flagRoutes } from './routes.js';
