import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST } from '../../functions/manifest.js';
import { knownSetting } from '../../shared/platform/function-config.js';
import { METRICS } from '../../shared/platform/metrics.js';
import { ENVIRONMENTS, ROOT, locals, parseDir, resource, resourcesOfType, tfvars, type Hcl } from './hcl.js';

/**
 * Policy tests over the Terraform as code (no terraform binary needed): the HCL is parsed with
 * @cdktf/hcl2json and every rule of the infrastructure issue is asserted for the module and for
 * each environment's variables.
 */
const MODULE = join(ROOT, 'terraform', 'modules', 'platform');
let mod: Hcl;
let modLocals: Hcl;
const envs: Record<string, { main: Hcl; vars: Hcl }> = {};

beforeAll(async () => {
  mod = await parseDir(MODULE);
  modLocals = locals(mod);
  for (const env of ENVIRONMENTS) envs[env] = { main: await parseDir(join(ROOT, 'terraform', 'environments', env)), vars: await tfvars(env) };
});

const text = (v: unknown) => JSON.stringify(v);
const fnResource = () => resource(mod, 'google_cloudfunctions2_function', 'function');
const manifestEnvKeys = () => [...new Set(MANIFEST.functions.flatMap((f) => f.env))];

describe('functions', () => {
  it('deploys every active manifest function as a 2nd-gen Cloud Function, and no 1st-gen one', () => {
    expect(fnResource().for_each).toBe('${local.active}');
    expect(modLocals.manifest).toContain('functions/manifest.json');
    expect(mod.resource.google_cloudfunctions_function).toBeUndefined();
    expect(text(fnResource().build_config)).toContain('nodejs20');
  });

  it('gives each function its own service account', () => {
    const sa = resource(mod, 'google_service_account', 'function');
    expect(sa.for_each).toBe('${local.functions}');
    expect(sa.account_id).toContain('${each.key}');
    expect(fnResource().service_config[0].service_account_email).toBe('${google_service_account.function[each.key].email}');
  });

  it('restricts ingress: only HTTP functions other than the api take their environment setting, the rest are internal only', () => {
    // The api's ingress follows api_exposure: tests/infra/network.test.ts.
    expect(fnResource().service_config[0].ingress_settings).toBe('${local.ingress[each.key]}');
    expect(modLocals.ingress).toBe('${{ for name, f in local.functions : name => (\n    f.trigger.kind != "http" ? "ALLOW_INTERNAL_ONLY" : name == "api" ? local.api_ingress : var.functions[name].ingress\n  ) }}');
  });

  it('grants no public invoker anywhere and run.invoker only to named groups and service accounts', async () => {
    // Everything that grants (resources, module calls, values), not the validation text that forbids it.
    const grants = [mod.resource, mod.locals, ...Object.values(envs).flatMap((e) => [e.main.module, e.vars])];
    expect(/allUsers|allAuthenticatedUsers/.test(text(grants))).toBe(false);
    expect(text(mod.variable.invokers)).toContain('^(group|serviceAccount):');
    for (const env of ENVIRONMENTS) {
      for (const members of Object.values(envs[env]!.vars.invokers as Record<string, string[]>)) {
        for (const m of members) expect(m).toMatch(/^(group|serviceAccount):[^@]+@[^@]+$/);
      }
    }
    const invokers = resourcesOfType(mod, 'google_cloud_run_v2_service_iam_member');
    for (const [name, r] of Object.entries(invokers)) {
      expect([name, r.role]).toEqual([name, 'roles/run.invoker']);
    }
    expect(invokers.push_invoker!.member).toContain('google_service_account.push');
    expect(invokers.scheduler_invoker!.member).toContain('google_service_account.scheduler');
  });

  it('sets min/max instances, memory, timeout and concurrency from the environment for every function', () => {
    const sc = fnResource().service_config[0];
    for (const k of ['min_instance_count', 'max_instance_count', 'available_memory', 'timeout_seconds', 'max_instance_request_concurrency']) expect(sc[k]).toMatch(/^\$\{var\.functions\[each\.key\]\./);
    for (const env of ENVIRONMENTS) {
      const sizes = envs[env]!.vars.functions as Record<string, Hcl>;
      expect(Object.keys(sizes).sort()).toEqual(MANIFEST.functions.map((f) => f.name).sort());
      for (const f of MANIFEST.functions) {
        const s = sizes[f.name]!;
        expect(s.min_instances).toBeLessThanOrEqual(s.max_instances);
        if (f.trigger.kind === 'http' && f.name !== 'api') expect(['ALLOW_ALL', 'ALLOW_INTERNAL_ONLY', 'ALLOW_INTERNAL_AND_GCLB']).toContain(s.ingress);
      }
    }
  });

  it("sets exactly the env settings each function's config schema requires, and secrets only as Secret Manager references", () => {
    const sc = fnResource().service_config[0];
    expect(sc.environment_variables).toBe('${merge({ for key in each.value.env : key => local.env_values[key] }, try(local.derived_env[each.key], {}))}');
    // Settings derived from resources (the IAP audience) are config keys too, and never secrets.
    const derived = [...text(modLocals.derived_env).matchAll(/\b(TSI_[A-Z_]+) =/g)].map((m) => m[1]!);
    expect(derived).toEqual(['TSI_IAP_AUDIENCE']);
    for (const key of derived) expect([key, knownSetting(key)]).toEqual([key, true]);
    const values = modLocals.env_values as Record<string, string>;
    for (const key of manifestEnvKeys()) {
      expect([key, knownSetting(key)]).toEqual([key, true]);
      expect([key, key in values]).toEqual([key, true]);
    }
    const secretEnvs = MANIFEST.functions.flatMap((f) => Object.keys(f.secrets));
    for (const key of Object.keys(values)) {
      expect(secretEnvs).not.toContain(key);
      expect(key).not.toMatch(/SECRET|PASSWORD|TOKEN|CREDENTIAL/);
    }
    const mount = sc.dynamic.secret_environment_variables[0];
    expect(mount.for_each).toBe('${each.value.secrets}');
    expect(mount.content[0].secret).toContain('google_secret_manager_secret.secret[');
    expect(mount.content[0].version).toBe('latest');
    expect(resource(mod, 'google_secret_manager_secret', 'secret').for_each).toBe('${local.secret_ids}');
    const accessor = resource(mod, 'google_secret_manager_secret_iam_member', 'accessor');
    expect(accessor.role).toBe('roles/secretmanager.secretAccessor');
    expect(text(accessor.for_each)).toContain('f.secrets');
  });

  it('grants only narrow roles: no primitive or admin role, warehouse data read-only and only to warehouse readers', () => {
    const byAccess = modLocals.project_roles_by_access as Record<string, string[]>;
    for (const roles of Object.values(byAccess)) for (const role of roles) expect(role).not.toMatch(/roles\/(owner|editor|viewer)$|bigquery\.(dataViewer|dataEditor|admin)|\.admin$/);
    const bq = resource(mod, 'google_bigquery_dataset_iam_member', 'warehouse_reader');
    expect(bq.role).toBe('roles/bigquery.dataViewer');
    expect(text(bq.for_each)).toContain('var.warehouse_datasets');
    expect(text(bq.for_each)).toContain('contains(f.access, \\"warehouse-read\\")');
    const readers = MANIFEST.functions.filter((f) => f.access.includes('warehouse-read')).map((f) => f.name);
    expect(readers).toContain('worker');
    expect(readers).not.toContain('api');
    for (const env of ENVIRONMENTS) expect(envs[env]!.vars.warehouse_datasets).toContain(envs[env]!.vars.warehouse_dataset);
  });
});

describe('events and schedules', () => {
  it('gives every event subscription a retry policy and a dead-letter topic that is itself kept readable', () => {
    const push = resource(mod, 'google_pubsub_subscription', 'push');
    expect(push.retry_policy[0]).toMatchObject({ minimum_backoff: expect.any(String), maximum_backoff: expect.any(String) });
    expect(push.dead_letter_policy[0].dead_letter_topic).toBe('${google_pubsub_topic.dead_letter[each.key].id}');
    expect(push.push_config[0].oidc_token[0].service_account_email).toBe('${google_service_account.push.email}');
    expect(resource(mod, 'google_pubsub_topic', 'dead_letter').for_each).toBe('${local.events}');
    expect(resource(mod, 'google_pubsub_subscription', 'dead_letter').for_each).toBe('${local.events}');
    const subscriptions = resourcesOfType(mod, 'google_pubsub_subscription');
    for (const [name, sub] of Object.entries(subscriptions)) if (name !== 'dead_letter') expect([name, !!sub.dead_letter_policy]).toEqual([name, true]);
    for (const f of MANIFEST.functions) if (f.trigger.kind === 'event') expect(MANIFEST.topics[f.trigger.topic]).toBeDefined();
  });

  it('triggers the reconciler, retention, backup and data-quality jobs with OIDC, on a schedule every environment sets', () => {
    const job = resource(mod, 'google_cloud_scheduler_job', 'job');
    expect(job.http_target[0].oidc_token[0].service_account_email).toBe('${google_service_account.scheduler.email}');
    expect(job.retry_config).toBeDefined();
    const scheduled = MANIFEST.functions.filter((f) => f.trigger.kind === 'schedule').map((f) => f.name).sort();
    expect(scheduled).toEqual(['backup', 'data-quality', 'reconciler', 'retention']);
    for (const env of ENVIRONMENTS) expect(Object.keys(envs[env]!.vars.schedules).sort()).toEqual(scheduled);
  });
});

describe('Firestore', () => {
  it('enables point-in-time recovery and delete protection, with a backup schedule', () => {
    const db = resource(mod, 'google_firestore_database', 'main');
    expect(db.point_in_time_recovery_enablement).toBe('POINT_IN_TIME_RECOVERY_ENABLED');
    expect(db.delete_protection_state).toBe('DELETE_PROTECTION_ENABLED');
    expect(db.deletion_policy).toBe('ABANDON');
    expect(resource(mod, 'google_firestore_backup_schedule', 'daily').database).toBe('${google_firestore_database.main.name}');
  });

  it('creates the composite indexes and TTL policies from the index file the emulator enforces', () => {
    expect(modLocals.firestore_indexes).toContain('firestore.indexes.json');
    expect(text(resource(mod, 'google_firestore_index', 'composite').for_each)).toContain('local.firestore_indexes.indexes');
    const ttl = resource(mod, 'google_firestore_field', 'ttl');
    expect(text(ttl.for_each)).toContain('local.firestore_indexes.fieldOverrides');
    expect(ttl.ttl_config).toBeDefined();
    const file = JSON.parse(readFileSync(join(ROOT, 'terraform', 'firestore.indexes.json'), 'utf8'));
    // The rate limiter writes expires_at for exactly this policy (shared/limits/rate-limiter.ts).
    expect(file.fieldOverrides).toEqual(expect.arrayContaining([expect.objectContaining({ collectionGroup: 'rate_limits', fieldPath: 'expires_at', ttl: true })]));
  });
});

describe('keys, secrets and audit', () => {
  it('rotates the key encryption key and never destroys it', () => {
    const kek = resource(mod, 'google_kms_crypto_key', 'kek');
    expect(kek.rotation_period).toBe('${var.kms_rotation_period}');
    expect(kek.lifecycle[0].prevent_destroy).toBe(true);
    expect(resource(mod, 'google_kms_crypto_key_iam_member', 'encrypter_decrypter').role).toBe('roles/cloudkms.cryptoKeyEncrypterDecrypter');
  });

  it('routes the audit log to a dedicated bucket and enables Data Access logs for Firestore, BigQuery, Secret Manager and KMS', () => {
    const bucket = resource(mod, 'google_logging_project_bucket_config', 'audit');
    expect(bucket.locked).toBe('${var.lock_audit_bucket}');
    expect(bucket.retention_days).toBe('${var.audit_retention_days}');
    const sink = resource(mod, 'google_logging_project_sink', 'audit');
    expect(sink.destination).toContain('google_logging_project_bucket_config.audit.id');
    expect(sink.filter).toContain('var.audit_log_name');
    const audit = resource(mod, 'google_project_iam_audit_config', 'data_access');
    for (const service of ['firestore.googleapis.com', 'bigquery.googleapis.com', 'secretmanager.googleapis.com', 'cloudkms.googleapis.com']) expect(audit.for_each).toContain(service);
    expect(text(audit.audit_log_config)).toContain('DATA_READ');
  });

  it('locks audit retention and protects data from deletion in prod', () => {
    const prod = envs.prod!.vars;
    expect(prod.lock_audit_bucket).toBe(true);
    expect(prod.deletion_protection).toBe(true);
    expect(prod.audit_retention_days).toBeGreaterThanOrEqual(365);
    expect(resource(mod, 'google_storage_bucket', 'backups').force_destroy).toBe('${!var.deletion_protection}');
  });

  it('anchors the audit chain in a write-once checkpoint bucket, locked where the audit log is locked', () => {
    const bucket = resource(mod, 'google_storage_bucket', 'audit_checkpoints');
    expect(bucket.retention_policy[0].is_locked).toBe('${var.lock_audit_bucket}');
    expect(text(bucket.retention_policy[0].retention_period)).toContain('var.audit_retention_days');
    expect(bucket.force_destroy).toBe(false);
    for (const f of MANIFEST.functions.filter((fn) => fn.access.includes('audit-write'))) {
      expect([f.name, f.env.includes('TSI_AUDIT_CHECKPOINT_BUCKET')]).toEqual([f.name, true]);
      expect([f.name, f.secrets.TSI_AUDIT_CHECKPOINT_KEY]).toEqual([f.name, 'tsi-audit-checkpoint-key']);
    }
  });

  it('keeps the erasure ledger and key escrow in a vault bucket of their own that never expires or soft-deletes', () => {
    const vault = resource(mod, 'google_storage_bucket', 'vault');
    expect(vault.lifecycle_rule).toBeUndefined();
    expect(vault.versioning[0].enabled).toBe(true);
    expect(vault.soft_delete_policy[0].retention_duration_seconds).toBe(0);
    expect(vault.public_access_prevention).toBe('enforced');
    const users = resource(mod, 'google_storage_bucket_iam_member', 'vault_user');
    expect(text(users.for_each)).toContain('contains(f.access, \\"vault\\")');
    const withVault = MANIFEST.functions.filter((f) => f.access.includes('vault')).map((f) => f.name).sort();
    expect(withVault).toEqual(['backup', 'erasure']);
    for (const name of withVault) expect(MANIFEST.functions.find((f) => f.name === name)!.env).toContain('TSI_VAULT_BUCKET');
  });
});

describe('monitoring', () => {
  it('has a log-based metric for every metric the code emits', () => {
    const filters = Object.values(modLocals.log_metrics as Record<string, { filter: string }>).map((m) => m.filter);
    for (const name of Object.values(METRICS)) expect([name, filters.some((f) => f.includes(`jsonPayload.metric.name="${name}"`))]).toEqual([name, true]);
  });

  it('alerts on error rate, latency, dead-letter backlog, stuck investigations, job failures, guard refusals and webhook failures', () => {
    const alerts = resourcesOfType(mod, 'google_monitoring_alert_policy');
    expect(Object.keys(alerts)).toEqual(expect.arrayContaining(['error_rate', 'latency', 'dead_letter_backlog', 'scheduler_failures', 'readiness', 'slo_burn', 'log_metric']));
    expect(Object.keys(modLocals.log_alerts).sort()).toEqual(['function-errors', 'guard-refusals-spike', 'job-failures', 'stuck-investigations', 'webhook-failures']);
    for (const [name, a] of Object.entries(alerts)) {
      expect([name, a.notification_channels]).toEqual([name, expect.stringContaining('google_monitoring_notification_channel.email')]);
      expect([name, a.documentation[0].content]).toEqual([name, expect.stringContaining('local.runbook')]);
    }
    const runbook = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const anchors = ['error-rate', 'latency', 'dead-letter-backlog', 'readiness', 'slo-burn', ...Object.keys(modLocals.log_alerts)];
    for (const anchor of anchors) expect([anchor, runbook.includes(`<a id="${anchor}"></a>`)]).toEqual([anchor, true]);
  });

  it('probes readiness from inside Google (Cloud Scheduler with OIDC, not an internet uptime check) and defines API SLOs and per-environment channels', () => {
    // The functions' ingress refuses internet sources (network.test.ts), so an uptime check could never pass.
    expect(mod.resource.google_monitoring_uptime_check_config).toBeUndefined();
    const probe = resource(mod, 'google_cloud_scheduler_job', 'readiness');
    expect(probe.for_each).toBe('${{ for name, f in local.active : name => f if try(f.readiness_path, null) != null }}');
    expect(probe.http_target[0]).toMatchObject({ http_method: 'GET', uri: '${google_cloudfunctions2_function.function[each.key].service_config[0].uri}${each.value.readiness_path}' });
    expect(probe.http_target[0].oidc_token[0].service_account_email).toBe('${google_service_account.scheduler.email}');
    expect(resource(mod, 'google_cloud_run_v2_service_iam_member', 'readiness_invoker').member).toBe('serviceAccount:${google_service_account.scheduler.email}');
    const failures = resource(mod, 'google_logging_metric', 'readiness_failures');
    expect(failures.filter).toContain('resource.type=\"cloud_scheduler_job\"');
    expect(failures.filter).toContain('-readiness$');
    const alert = resource(mod, 'google_monitoring_alert_policy', 'readiness');
    expect(alert.for_each).toBe('${google_cloud_scheduler_job.readiness}');
    expect(alert.severity).toBe('CRITICAL');
    expect(alert.conditions[0].condition_threshold[0].filter).toContain('metric.labels.job_id=\"${each.value.name}\"');
    // The probe's failures page through the readiness alert only, not also as job failures.
    expect(resource(mod, 'google_monitoring_alert_policy', 'scheduler_failures').conditions[0].condition_matched_log[0].filter).toContain('NOT resource.labels.job_id=~\"-readiness$\"');
    expect(MANIFEST.functions.find((f) => f.name === 'api')?.readiness_path).toBe('/readyz');
    expect(Object.keys(resourcesOfType(mod, 'google_monitoring_slo')).sort()).toEqual(['api_availability', 'api_latency']);
    for (const env of ENVIRONMENTS) expect((envs[env]!.vars.notification_emails as string[]).length).toBeGreaterThan(0);
  });
});

describe('environments', () => {
  it('differ only in variables: main.tf and variables.tf are identical, each has a GCS backend', () => {
    const read = (env: string, f: string) => readFileSync(join(ROOT, 'terraform', 'environments', env, f), 'utf8');
    for (const env of ENVIRONMENTS) {
      expect(readdirSync(join(ROOT, 'terraform', 'environments', env)).filter((f) => f.endsWith('.tf')).sort()).toEqual(['main.tf', 'variables.tf']);
      expect(read(env, 'main.tf')).toBe(read('dev', 'main.tf'));
      expect(read(env, 'variables.tf')).toBe(read('dev', 'variables.tf'));
      expect(envs[env]!.main.terraform[0].backend.gcs).toBeDefined();
      expect(envs[env]!.vars.environment).toBe(env);
      expect(read(env, 'backend.hcl')).toContain(`prefix = "tsi/${env}"`);
    }
  });

  it('passes every variable the module requires', () => {
    const required = Object.entries(mod.variable as Record<string, Hcl[]>).filter(([, v]) => !('default' in v[0]!)).map(([k]) => k);
    const passed = Object.keys(envs.dev!.main.module.platform[0]);
    for (const name of required) expect([name, passed.includes(name)]).toEqual([name, true]);
  });
});
