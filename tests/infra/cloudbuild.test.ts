import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './hcl.js';

/** cloudbuild.yaml: the delivery order, its substitutions, and that every step it relies on exists. */
const build = parse(readFileSync(join(ROOT, 'cloudbuild.yaml'), 'utf8')) as {
  substitutions: Record<string, string>;
  steps: { id: string; name: string; entrypoint?: string; args: string[] }[];
};
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
const ids = build.steps.map((s) => s.id);
const command = (id: string) => {
  const step = build.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id}`);
  return [step.entrypoint ?? '', ...step.args].join(' ');
};

describe('cloudbuild.yaml', () => {
  it('runs install, lint, type-check, tests, bundle, upload, plan, apply, smoke test, traffic shift and rollback in that order', () => {
    expect(ids).toEqual(['install', 'lint', 'typecheck', 'test', 'build-functions', 'upload-artifacts', 'terraform-plan', 'terraform-apply', 'smoke-test', 'shift-traffic', 'rollback-on-failure']);
  });

  it('targets the environment given as a substitution, with the state and artifact buckets', () => {
    for (const key of ['_ENV', '_REGION', '_TF_STATE_BUCKET', '_ARTIFACT_BUCKET']) expect(build.substitutions[key]).toBeDefined();
    expect(command('terraform-plan')).toContain('terraform/environments/${_ENV}');
    expect(command('terraform-plan')).toContain('-backend-config="bucket=${_TF_STATE_BUCKET}"');
    expect(command('terraform-plan')).toContain('artifacts.auto.tfvars.json');
    expect(command('terraform-plan')).toMatch(/plan .*-out=tfplan/);
    expect(command('terraform-apply')).toContain('apply -input=false tfplan');
    expect(command('upload-artifacts')).toContain('${_ARTIFACT_BUCKET}');
  });

  it('hands the smoke test the outputs it reads: the function services and the load balancer URL', () => {
    const lib = readFileSync(join(ROOT, 'scripts', 'rollout-lib.sh'), 'utf8');
    expect(command('terraform-apply')).toContain('output -json function_services > /workspace/function_services.json');
    expect(lib).toContain('${FUNCTION_SERVICES:-/workspace/function_services.json}');
    expect(command('terraform-apply')).toContain('output -json api_url > /workspace/api_url.json');
    expect(lib).toContain('${API_URL_FILE:-/workspace/api_url.json}');
  });

  it('only uses npm scripts that exist in package.json', () => {
    const used = build.steps.filter((s) => s.entrypoint === 'npm' && s.args[0] === 'run').map((s) => s.args[1]!);
    expect(used.sort()).toEqual(['build:functions', 'lint', 'test:ci', 'typecheck']);
    for (const script of used) expect([script, script in pkg.scripts]).toEqual([script, true]);
    expect(pkg.devDependencies.esbuild).toBeDefined();
  });

  it('only runs scripts that exist in the repository', () => {
    const scripts = build.steps.flatMap((s) => [s.entrypoint ?? '', ...s.args].join(' ').match(/scripts\/[\w.-]+/g) ?? []);
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const s of scripts) expect([s, existsSync(join(ROOT, s))]).toEqual([s, true]);
  });

  it('shifts traffic only after a passing smoke test and otherwise rolls back and fails the build', () => {
    expect(command('smoke-test')).toMatch(/if scripts\/smoke-test\.sh .*then echo ok > \/workspace\/smoke\.status; else echo failed > \/workspace\/smoke\.status/);
    expect(command('shift-traffic')).toMatch(/smoke\.status\)" = ok \] \|\| \{[^}]*exit 0; \}/);
    expect(command('shift-traffic')).toContain('scripts/shift-traffic.sh');
    const rollback = command('rollback-on-failure');
    expect(rollback).toContain('smoke.status)" = ok ] && exit 0');
    expect(rollback).toContain('scripts/rollback.sh');
    expect(rollback).toMatch(/exit 1\s*$/);
    const apply = readFileSync(join(ROOT, 'terraform', 'modules', 'platform', 'functions.tf'), 'utf8');
    expect(apply).toMatch(/all_traffic_on_latest_revision\s*=\s*false/);
  });
});
