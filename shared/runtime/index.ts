import type { Firestore } from '@google-cloud/firestore';
import { createAuditLog } from '../audit/index.js';
import type { AuditLog } from '../audit/model.js';
import { RoleBindings } from '../auth/bindings.js';
import type { Planner } from '../agent/planner.js';
import { createConfiguredPlanner, LLM_PLANNER_FLAG } from '../agent/llm/index.js';
import { FeatureFlags } from '../flags/flags.js';
import { LocalIssuer } from '../auth/local-issuer.js';
import { permissionsOf, type Role } from '../auth/policy.js';
import { TokenVerifier } from '../auth/verifier.js';
import type { EventPublisher } from '../events/port.js';
import { PubSubPublisher } from '../events/pubsub.js';
import { InvestigationService } from '../investigations/service.js';
import { InvestigationStore } from '../investigations/store.js';
import { InvestigationPii } from '../investigations/pii.js';
import { createDataProtection, type DataProtection } from '../crypto/index.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { WebhookService } from '../webhooks/service.js';
import { policyFor } from '../webhooks/ssrf.js';
import { WebhookStore } from '../webhooks/store.js';
import { RateLimiter } from '../limits/rate-limiter.js';
import { systemClock, type Clock } from '../platform/clock.js';
import { loadConfig, type Config } from '../platform/config.js';
import { loadFunctionConfig } from '../platform/function-config.js';
import type { Caller } from '../platform/http.js';
import { rootLogger, type Logger } from '../platform/logger.js';
import { createSecretStore } from '../secrets/index.js';
import type { SecretStore } from '../secrets/port.js';
import { createFirestore } from '../store/firestore.js';
import { createWarehouse } from '../warehouse/create.js';
import type { Warehouse } from '../warehouse/port.js';

/**
 * The composition root: the ONE place that picks adapters from validated config. Each function
 * asks for the runtime; the local stack builds it once with its local transports and shares it.
 * Everything heavy is created on first use.
 */
export interface Runtime {
  config: Config;
  clock: Clock;
  logger: Logger;
  firestore(): Firestore;
  warehouse: Warehouse;
  publisher: EventPublisher;
  audit: AuditLog;
  secrets: SecretStore;
  issuer: LocalIssuer | null;
  verifier: TokenVerifier;
  bindings: RoleBindings;
  /** Feature flags: `await rt.flags.isEnabled('webhooks')` (cached ~30 s; shared/flags/). */
  flags: FeatureFlags;
  /** Plans investigations: deterministic, or the LLM planner when configured and its flag is on. */
  planner: Planner;
  store: InvestigationStore;
  /** Field encryption, blind indexes, crypto-shredding, KEK re-wrap (shared/crypto; docs/decisions/0011). */
  dataProtection: DataProtection;
  rateLimiter: RateLimiter;
  service: InvestigationService;
  /** Webhook subscriptions and delivery (shared/webhooks). */
  webhooks: WebhookService;
  identify(headers: Record<string, string | string[] | undefined>): Promise<Caller>;
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  clock?: Clock;
  logger?: Logger;
  /** host:port of the embedded Firestore emulator (local stack). */
  emulatorHost?: string;
  /** The local event bus (local stack). */
  publisher?: EventPublisher;
  /** Cloud KMS key encryption key (TSI_KMS_KEY, a per-function setting). */
  kmsKeyName?: string;
}

interface Lazy<T> {
  (): T;
  /** The value if it was ever made, without making it. */
  peek(): T | undefined;
}

function lazy<T>(make: () => T): Lazy<T> {
  let value: T | undefined;
  const get = (() => (value ??= make())) as Lazy<T>;
  get.peek = () => value;
  return get;
}

/**
 * A Firestore handle that creates the client (and so loads its package, ~200 ms and ~35 MiB) on
 * the first call through it, not when a service holding it is built: functions wire their
 * routes and services at the first request, and a health check, a refused call or a malformed
 * event never touches the store. Everything is forwarded to the one real client, bound to it, so
 * references, batches and transactions are the client's own.
 */
function deferredFirestore(make: () => Firestore): { handle: Firestore; created(): Firestore | undefined } {
  let client: Firestore | undefined;
  const real = () => (client ??= make());
  const handle = new Proxy({} as Firestore, {
    get(_, prop) {
      const value = Reflect.get(real(), prop, real()) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real()) : value;
    },
    set: (_, prop, value) => Reflect.set(real(), prop, value),
    has: (_, prop) => Reflect.has(real(), prop),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
  return { handle, created: () => client };
}

export function buildRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? rootLogger;
  if (config.adapters.store === 'emulator' && !overrides.emulatorHost) {
    throw new Error('The emulator store needs the local stack (npm start) to provide the emulator host.');
  }
  const deferred = deferredFirestore(() =>
    createFirestore({
      projectId: config.projectId,
      databaseId: config.firestoreDatabase,
      ...(config.adapters.store === 'emulator' ? { emulatorHost: overrides.emulatorHost } : {}),
    }),
  );
  const firestore = () => deferred.handle;
  const publisher = (() => {
    if (config.adapters.events === 'pubsub') return new PubSubPublisher({ projectId: config.projectId, topic: config.eventsTopic, logger: logger.child({ component: 'events' }) });
    if (!overrides.publisher) throw new Error('The local event bus comes from the local stack (npm start).');
    return overrides.publisher;
  })();
  const secrets = createSecretStore(config);
  const audit: AuditLog = createAuditLog(config, { clock, secrets, logger });
  const issuer = config.adapters.identity === 'local' ? new LocalIssuer(secrets) : null;
  const verifier = new TokenVerifier({ mode: config.adapters.identity, audience: config.audience, iapAudience: config.iapAudience, localIssuer: issuer ?? undefined, ...(config.googleCertsUrl ? { certsUrl: config.googleCertsUrl } : {}) });
  // Built on first use: a function that never queries (intake, webhooks, reconciler) never builds the guard.
  const warehouse = lazy(() => createWarehouse(config, { logger: logger.child({ component: 'warehouse' }), clock, audit }));

  const runtime: Runtime = {
    config,
    clock,
    logger,
    firestore,
    get warehouse() {
      return warehouse();
    },
    publisher,
    audit,
    secrets,
    issuer,
    verifier,
    get bindings() {
      return bindings();
    },
    get flags() {
      return flags();
    },
    get planner() {
      return planner();
    },
    get store() {
      return store();
    },
    get dataProtection() {
      return dataProtection();
    },
    get rateLimiter() {
      return rateLimiter();
    },
    get service() {
      return service();
    },
    get webhooks() {
      return webhooks();
    },
    async identify(headers) {
      const principal = await verifier.verify(headers);
      const binding = await bindings().get(principal.email);
      const roles = (binding?.roles ?? []) as Role[];
      const permissions = permissionsOf(roles);
      return { email: principal.email.toLowerCase(), roles, team: binding?.team ?? null, via: principal.via, can: (p: string) => permissions.has(p as never) };
    },
    async close() {
      await warehouse.peek()?.close();
      await publisher.close();
      if ('close' in audit && typeof (audit as { close?: () => Promise<void> }).close === 'function') await (audit as unknown as { close(): Promise<void> }).close();
      await deferred.created()?.terminate();
    },
  };
  const bindings = lazy(() => new RoleBindings(firestore()));
  const flags = lazy(() => new FeatureFlags(firestore(), { clock, logger: logger.child({ component: 'flags' }) }));
  const planner = lazy(() =>
    createConfiguredPlanner({ config, secrets, isLlmPlannerEnabled: () => flags().isEnabled(LLM_PLANNER_FLAG), logger }),
  );
  const dataProtection = lazy(() => createDataProtection({ config, firestore: firestore(), secrets, clock, ...(overrides.kmsKeyName ? { kmsKeyName: overrides.kmsKeyName } : {}) }));
  const store = lazy(() => new InvestigationStore(firestore(), new InvestigationPii(dataProtection())));
  const rateLimiter = lazy(() => new RateLimiter(firestore(), clock));
  const service = lazy(
    () =>
      new InvestigationService({
        store: store(),
        publisher,
        audit,
        rateLimiter: rateLimiter(),
        clock,
        logger: logger.child({ component: 'investigations' }),
        createPerMinute: config.limits.createPerMinute,
        isKnownPrincipal: async (email) => ((await bindings().get(email))?.roles.length ?? 0) > 0,
      }),
  );
  const webhooks = lazy(
    () =>
      new WebhookService({
        store: new WebhookStore(firestore()),
        box: new SecretBox(secrets),
        audit,
        clock,
        logger,
        policy: policyFor(config.mode),
      }),
  );
  return runtime;
}

let current: Runtime | null = null;

/** Used by the local stack (and tests) to hand functions the runtime it built. */
export function setRuntime(runtime: Runtime | null): void {
  current = runtime;
}

/**
 * Each function's entry point: the runtime the stack provided, or one built from the environment,
 * validated against that function's schema in functions/manifest.json when it names itself.
 */
export function getRuntime(functionName?: string): Runtime {
  if (!current) {
    const fc = functionName ? loadFunctionConfig(functionName) : null;
    current = buildRuntime(fc?.config ?? loadConfig(), fc?.settings.TSI_KMS_KEY ? { kmsKeyName: fc.settings.TSI_KMS_KEY } : {});
  }
  return current;
}
