import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST } from '../../functions/manifest.js';
import { knownSetting } from '../../shared/platform/function-config.js';
import { ENVIRONMENTS, ROOT, dataSource, locals, parseDir, resource, resourcesOfType, tfvars, type Hcl } from './hcl.js';

/**
 * Network security policy tests (issue 11 point 6, docs/deploy.md "Network security"), over the
 * parsed HCL like terraform.test.ts: the API is reachable only through the HTTPS load balancer
 * with IAP and Cloud Armor (or only internally), the data services sit in a VPC Service Controls
 * perimeter that prod enforces, and webhook deliveries leave from one reserved address.
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
const fn = () => resource(mod, 'google_cloudfunctions2_function', 'function');
const LB_COUNT = '${local.api_via_lb ? 1 : 0}';
/** Every resource of the load balancer path; all exist exactly when api_exposure = iap. */
const LB_RESOURCES = [
  'google_compute_security_policy',
  'google_compute_region_network_endpoint_group',
  'google_compute_backend_service',
  'google_compute_url_map',
  'google_compute_managed_ssl_certificate',
  'google_compute_ssl_policy',
  'google_compute_target_https_proxy',
  'google_compute_global_address',
  'google_compute_global_forwarding_rule',
];
const DATA_SERVICES = ['firestore.googleapis.com', 'bigquery.googleapis.com', 'secretmanager.googleapis.com', 'cloudkms.googleapis.com', 'storage.googleapis.com'];

describe('API ingress', () => {
  it('never lets the api take ALLOW_ALL: internal-and-load-balancer behind the load balancer, internal only otherwise', () => {
    expect(fn().service_config[0].ingress_settings).toBe('${local.ingress[each.key]}');
    expect(modLocals.ingress).toContain('name == "api" ? local.api_ingress');
    expect(modLocals.api_ingress).toBe('${local.api_via_lb ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"}');
    expect(modLocals.api_via_lb).toBe('${var.api_exposure == "iap"}');
    // The only two exposures; and an api ingress set in tfvars is refused instead of ignored.
    expect(text(mod.variable.api_exposure)).toContain('contains([\\"iap\\", \\"internal\\"], var.api_exposure)');
    expect(text(mod.variable.functions)).toContain('name != \\"api\\" || f.ingress == \\"ALLOW_INTERNAL_ONLY\\"');
    for (const env of ENVIRONMENTS) {
      const vars = envs[env]!.vars;
      expect([env, ['iap', 'internal'].includes(vars.api_exposure)]).toEqual([env, true]);
      expect([env, vars.functions.api.ingress]).toEqual([env, undefined]);
      if (vars.api_exposure === 'iap') expect([env, vars.api_domain]).toEqual([env, expect.stringMatching(/^[a-z0-9.-]+\.[a-z]{2,}$/)]);
    }
  });

  it('serves the API on HTTPS port 443 only, through one load balancer that exists exactly when api_exposure = iap', () => {
    for (const type of LB_RESOURCES) expect([type, resource(mod, type, 'api').count]).toEqual([type, LB_COUNT]);
    expect(mod.resource.google_compute_target_http_proxy).toBeUndefined();
    const rules = resourcesOfType(mod, 'google_compute_global_forwarding_rule');
    expect(Object.keys(rules)).toEqual(['api']);
    expect(rules.api).toMatchObject({ port_range: '443', load_balancing_scheme: 'EXTERNAL_MANAGED', target: '${google_compute_target_https_proxy.api[0].id}' });
    const proxy = resource(mod, 'google_compute_target_https_proxy', 'api');
    expect(proxy.ssl_policy).toBe('${google_compute_ssl_policy.api[0].id}');
    expect(resource(mod, 'google_compute_ssl_policy', 'api')).toMatchObject({ min_tls_version: 'TLS_1_2', profile: expect.stringMatching(/^(MODERN|RESTRICTED)$/) });
    expect(resource(mod, 'google_compute_managed_ssl_certificate', 'api').managed[0].domains).toEqual(['${var.api_domain}']);
    expect(resource(mod, 'google_compute_url_map', 'api').default_service).toBe('${google_compute_backend_service.api[0].id}');
    // The NEG points at the api function's own name (functions.tf: "${var.name_prefix}-${each.key}").
    const neg = resource(mod, 'google_compute_region_network_endpoint_group', 'api');
    expect(neg.network_endpoint_type).toBe('SERVERLESS');
    expect(neg.cloud_function[0].function).toBe(fn().name.replace('${each.key}', 'api'));
    expect(resource(mod, 'google_compute_backend_service', 'api').backend[0].group).toBe('${google_compute_region_network_endpoint_group.api[0].id}');
  });

  it('puts IAP in front of the API and lets only the environment\'s API invokers through it', () => {
    const backend = resource(mod, 'google_compute_backend_service', 'api');
    expect(backend.iap[0].enabled).toBe(true);
    expect(backend.load_balancing_scheme).toBe('EXTERNAL_MANAGED');
    const accessor = resource(mod, 'google_iap_web_backend_service_iam_member', 'api_accessor');
    expect(accessor.role).toBe('roles/iap.httpsResourceAccessor');
    expect(accessor.for_each).toBe('${local.api_via_lb ? toset(lookup(var.invokers, "api", [])) : toset([])}');
    expect(accessor.web_backend_service).toBe('${google_compute_backend_service.api[0].name}');
    // IAP's service agent invokes the service; the users themselves get no run.invoker on the api.
    expect(resource(mod, 'google_cloud_run_v2_service_iam_member', 'iap_invoker').member).toContain('@gcp-sa-iap.iam.gserviceaccount.com');
    expect(modLocals.http_invokers).toContain('name == "api" && local.api_via_lb ? [] : lookup(var.invokers, name, [])');
    // The api verifies IAP's assertion against this backend (shared/auth/verifier.ts).
    expect(modLocals.iap_audience).toBe('${local.api_via_lb ? "/projects/${data.google_project.this.number}/global/backendServices/${google_compute_backend_service.api[0].generated_id}" : ""}');
    expect(modLocals.derived_env.api).toBe('${{ for key, value in { TSI_IAP_AUDIENCE = local.iap_audience } : key => value if value != "" }}');
    expect(knownSetting('TSI_IAP_AUDIENCE')).toBe(true);
  });

  it('routes the smoke test to the candidate revision through the same Cloud Armor policy and an IAP only the deployer passes', () => {
    expect(modLocals.candidate_header).toEqual({ name: 'x-tsi-revision', value: 'candidate' });
    const route = resource(mod, 'google_compute_url_map', 'api').path_matcher[0].route_rules[0];
    expect(route.service).toBe('${google_compute_backend_service.api_candidate[0].id}');
    expect(route.match_rules[0].header_matches[0]).toEqual({ header_name: '${local.candidate_header.name}', exact_match: '${local.candidate_header.value}' });
    const neg = resource(mod, 'google_compute_region_network_endpoint_group', 'api_candidate');
    expect(neg).toMatchObject({ count: LB_COUNT, network_endpoint_type: 'SERVERLESS', cloud_run: [{ service: '${var.name_prefix}-api', tag: '${local.candidate_header.value}' }] });
    const backend = resource(mod, 'google_compute_backend_service', 'api_candidate');
    expect(backend).toMatchObject({ count: LB_COUNT, security_policy: '${google_compute_security_policy.api[0].id}', iap: [{ enabled: true }] });
    expect(backend.backend[0].group).toBe('${google_compute_region_network_endpoint_group.api_candidate[0].id}');
    const accessors = Object.values(resourcesOfType(mod, 'google_iap_web_backend_service_iam_member')).filter((a) => a.web_backend_service.includes('api_candidate'));
    expect(accessors.map((a) => a.member)).toEqual(['serviceAccount:${var.deployer_service_account}']);
    // smoke-test.sh sends exactly this header (tests/infra/smoke-test.test.ts runs the script).
    expect(readFileSync(join(ROOT, 'scripts', 'smoke-test.sh'), 'utf8')).toContain('-H "x-tsi-revision: candidate"');
  });
});

describe('Cloud Armor', () => {
  const policy = () => resource(mod, 'google_compute_security_policy', 'api');
  const dynamicRule = (forEach: string) => {
    const found = (policy().dynamic.rule as Hcl[]).find((r) => r.for_each === forEach);
    if (!found) throw new Error(`no dynamic rule over ${forEach}`);
    return found.content[0] as Hcl;
  };

  it("is attached to the API's backend service", () => {
    expect(resource(mod, 'google_compute_backend_service', 'api').security_policy).toBe('${google_compute_security_policy.api[0].id}');
    expect(policy().type).toBe('CLOUD_ARMOR');
    expect(policy().advanced_options_config[0].json_parsing).toBe('STANDARD');
  });

  it('denies OWASP SQL injection, XSS and the other web attack classes, in preview exactly when the environment says so', () => {
    const sets = Object.keys(modLocals.waf_rule_sets);
    for (const set of ['sqli-v33-stable', 'xss-v33-stable', 'lfi-v33-stable', 'rfi-v33-stable', 'rce-v33-stable', 'protocolattack-v33-stable', 'nodejs-v33-stable']) expect(sets).toContain(set);
    const waf = dynamicRule('${local.waf_rule_sets}');
    expect(waf.action).toBe('deny(403)');
    expect(waf.preview).toBe('${var.cloud_armor.waf_mode == "preview"}');
    expect(waf.priority).toBe('${rule.value}');
    expect(waf.match[0].expr[0].expression).toBe("evaluatePreconfiguredWaf('${rule.key}', {'sensitivity': ${var.cloud_armor.waf_sensitivity}})");
    expect(text(mod.variable.cloud_armor)).toContain('contains([\\"preview\\", \\"enforce\\"], var.cloud_armor.waf_mode)');
    expect(envs.prod!.vars.cloud_armor.waf_mode).toBe('enforce');
    for (const env of ['dev', 'staging']) expect([env, envs[env]!.vars.cloud_armor.waf_mode]).toEqual([env, 'preview']);
  });

  it('bans a client (source IP) above the rate limit with 429, after the WAF rules, in every environment', () => {
    const rules = policy().rule as Hcl[];
    const rate = rules.find((r) => r.action === 'rate_based_ban');
    expect(rate).toBeDefined();
    expect(rate!.match[0].config[0].src_ip_ranges).toEqual(['*']);
    expect(rate!.rate_limit_options[0]).toMatchObject({
      enforce_on_key: 'IP',
      conform_action: 'allow',
      exceed_action: 'deny(429)',
      ban_duration_sec: '${var.cloud_armor.ban_duration_sec}',
      rate_limit_threshold: [{ count: '${var.cloud_armor.rate_limit_count}', interval_sec: '${var.cloud_armor.rate_limit_interval}' }],
    });
    // A matching rate-limit rule ends evaluation (conform = allow): every deny rule must come first.
    expect(rate!.priority).toBe('${local.rate_limit_priority}');
    const wafPriorities = Object.values(modLocals.waf_rule_sets as Record<string, number>);
    expect(new Set(wafPriorities).size).toBe(wafPriorities.length);
    expect(Math.max(...wafPriorities)).toBeLessThan(modLocals.rate_limit_priority);
    expect(modLocals.source_allowlist_priority).toBeLessThan(Math.min(...wafPriorities));
    expect(modLocals.rate_limit_priority).toBeLessThan(modLocals.default_priority);
    for (const env of ENVIRONMENTS) {
      const armor = envs[env]!.vars.cloud_armor as Hcl;
      for (const k of ['rate_limit_count', 'rate_limit_interval', 'ban_duration_sec']) expect([env, k, armor[k] > 0]).toEqual([env, k, true]);
    }
  });

  it('ends with a default allow (IAP authenticates) and denies sources outside an allowlist only when one is set', () => {
    const fallback = (policy().rule as Hcl[]).find((r) => r.priority === '${local.default_priority}');
    expect(modLocals.default_priority).toBe(2147483647);
    expect(fallback).toMatchObject({ action: 'allow', match: [{ versioned_expr: 'SRC_IPS_V1', config: [{ src_ip_ranges: ['*'] }] }] });
    const allowlist = dynamicRule('${length(var.cloud_armor.allowed_source_ranges) > 0 ? [local.outside_allowlist] : []}');
    expect(allowlist).toMatchObject({ action: 'deny(403)', priority: '${local.source_allowlist_priority}' });
    expect(modLocals.outside_allowlist).toContain("!inIpRange(origin.ip, '${r}')");
    expect(modLocals.outside_allowlist).toContain('join(" && "');
  });
});

describe('VPC Service Controls', () => {
  const perimeter = () => resource(mod, 'google_access_context_manager_service_perimeter', 'data');
  const block = (kind: 'status' | 'spec') => perimeter().dynamic[kind][0] as Hcl;

  it('restricts Firestore, BigQuery, Secret Manager, KMS and Storage (and the audit log and events) for this project and the warehouse', () => {
    const p = modLocals.perimeter as Hcl;
    for (const service of [...DATA_SERVICES, 'logging.googleapis.com', 'pubsub.googleapis.com']) expect(p.restricted_services).toContain(service);
    expect(p.resources).toContain('projects/${data.google_project.this.number}');
    expect(p.resources).toContain('projects/${data.google_project.warehouse.number}');
    expect(dataSource(mod, 'google_project', 'warehouse').project_id).toBe('${var.warehouse_project}');
    expect(p.ingress_identities).toContain('serviceAccount:${var.deployer_service_account}');
    // Function builds may only read Storage of this project, nothing else.
    const status = block('status').content[0] as Hcl;
    const build = (status.ingress_policies as Hcl[]).find((i) => i.ingress_from[0].identities === '${status.value.build_identities}');
    expect(build?.ingress_to[0]).toEqual({ resources: ['projects/${data.google_project.this.number}'], operations: [{ service_name: 'storage.googleapis.com', method_selectors: [{ method: '*' }] }] });
    expect((p.build_identities as string[]).every((m) => m.startsWith('serviceAccount:'))).toBe(true);
    expect(perimeter().perimeter_type).toBe('PERIMETER_TYPE_REGULAR');
  });

  it('enforces the perimeter (status) in enforced mode and has it only as an explicit dry-run spec otherwise, with the same content', () => {
    expect(modLocals.perimeter_enforced).toBe('${var.vpc_service_controls.mode == "enforced"}');
    expect(perimeter().use_explicit_dry_run_spec).toBe('${!local.perimeter_enforced}');
    expect(block('status').for_each).toBe('${local.perimeter_enforced ? [local.perimeter] : []}');
    expect(block('spec').for_each).toBe('${local.perimeter_enforced ? [] : [local.perimeter]}');
    expect(perimeter().status).toBeUndefined();
    expect(perimeter().spec).toBeUndefined();
    const status = block('status').content[0] as Hcl;
    expect(status.restricted_services).toBe('${status.value.restricted_services}');
    expect(status.resources).toBe('${status.value.resources}');
    expect(text(block('spec').content).replaceAll('spec.value.', 'status.value.')).toBe(text(block('status').content));
  });

  it('is enforced in prod and dry-run in dev and staging; Terraform itself refuses a dry-run prod perimeter', () => {
    expect(envs.prod!.vars.vpc_service_controls.mode).toBe('enforced');
    for (const env of ['dev', 'staging']) expect([env, envs[env]!.vars.vpc_service_controls.mode]).toEqual([env, 'dry_run']);
    expect(perimeter().lifecycle[0].precondition[0].condition).toBe('${var.environment != "prod" || local.perimeter_enforced}');
    expect(text(mod.variable.vpc_service_controls)).toContain('contains([\\"enforced\\", \\"dry_run\\"], var.vpc_service_controls.mode)');
    for (const env of ENVIRONMENTS) {
      for (const m of envs[env]!.vars.vpc_service_controls.ingress_identities as string[]) expect([env, m]).toEqual([env, expect.stringMatching(/^(group|user|serviceAccount):[^@*]+@[^@*]+$/)]);
    }
  });
});

describe('webhook egress', () => {
  it('sends all traffic of the webhook dispatcher through the VPC connector', () => {
    const webhooks = MANIFEST.functions.find((f) => f.name === 'webhooks');
    expect(webhooks?.status).toBe('active');
    expect(modLocals.fixed_egress_functions).toBe('${toset(["webhooks"])}');
    const sc = fn().service_config[0];
    expect(sc.vpc_connector).toBe('${contains(local.fixed_egress_functions, each.key) ? google_vpc_access_connector.egress.id : null}');
    expect(sc.vpc_connector_egress_settings).toBe('${contains(local.fixed_egress_functions, each.key) ? "ALL_TRAFFIC" : null}');
  });

  it('NATs the connector subnet to one reserved static address that Terraform never destroys', () => {
    const connector = resource(mod, 'google_vpc_access_connector', 'egress');
    expect(connector.subnet[0].name).toBe('${google_compute_subnetwork.connector.name}');
    const subnet = resource(mod, 'google_compute_subnetwork', 'connector');
    expect(subnet).toMatchObject({ network: '${google_compute_network.egress.id}', ip_cidr_range: '${var.egress.connector_cidr}', private_ip_google_access: true });
    expect(resource(mod, 'google_compute_router', 'egress').network).toBe('${google_compute_network.egress.id}');
    const nat = resource(mod, 'google_compute_router_nat', 'egress');
    expect(nat).toMatchObject({
      router: '${google_compute_router.egress.name}',
      nat_ip_allocate_option: 'MANUAL_ONLY',
      nat_ips: ['${google_compute_address.egress.self_link}'],
      source_subnetwork_ip_ranges_to_nat: 'LIST_OF_SUBNETWORKS',
      subnetwork: [{ name: '${google_compute_subnetwork.connector.id}', source_ip_ranges_to_nat: ['ALL_IP_RANGES'] }],
    });
    const address = resource(mod, 'google_compute_address', 'egress');
    expect(address.address_type).toBe('EXTERNAL');
    expect(address.lifecycle[0].prevent_destroy).toBe(true);
    for (const env of ENVIRONMENTS) expect([env, envs[env]!.vars.egress.connector_cidr]).toEqual([env, expect.stringMatching(/^\d+\.\d+\.\d+\.\d+\/28$/)]);
  });

  it('keeps the connector away from private and link-local ranges', () => {
    const fw = resource(mod, 'google_compute_firewall', 'egress_no_private');
    expect(fw).toMatchObject({ direction: 'EGRESS', network: '${google_compute_network.egress.id}', deny: [{ protocol: 'all' }] });
    expect(fw.target_tags).toEqual(['vpc-connector-${var.region}-${google_vpc_access_connector.egress.name}']);
    for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']) expect(fw.destination_ranges).toContain(range);
  });

  it('outputs the egress IP (and the API entry point) from the module and every environment', () => {
    expect(mod.output.webhook_egress_ip[0].value).toBe('${google_compute_address.egress.address}');
    expect(mod.output.api_url[0].value).toBe('${local.api_via_lb ? "https://${var.api_domain}" : null}');
    for (const env of ENVIRONMENTS) {
      for (const name of ['webhook_egress_ip', 'api_url', 'api_ip', 'service_perimeter']) expect([env, envs[env]!.main.output[name]?.[0].value]).toEqual([env, `\${module.platform.${name}}`]);
    }
  });
});

describe('documentation', () => {
  it('docs/deploy.md explains each control, how to switch it per environment and how to find the egress IP', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
    for (const anchor of ['network-security', 'api-ingress', 'cloud-armor', 'vpc-service-controls', 'webhook-egress']) expect([anchor, doc.includes(`<a id="${anchor}"></a>`)]).toEqual([anchor, true]);
    for (const phrase of ['terraform output webhook_egress_ip', 'api_exposure', 'waf_mode', 'vpc_service_controls', 'use_explicit_dry_run_spec']) expect([phrase, doc.includes(phrase)]).toEqual([phrase, true]);
  });
});
