import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, locals, parseDir } from './hcl.js';

/**
 * scripts/smoke-test.sh as Cloud Build runs it, with `gcloud` and `curl` replaced by recorders on
 * PATH (the script itself, rollout-lib.sh and python3 are real). Behind the load balancer the
 * run.app URL refuses outside requests, so the smoke test must go through the load balancer's
 * candidate route with an IAP JWT; without it (api_exposure = internal) it keeps the candidate URL.
 */
const DEPLOYER = 'tsi-deployer@tsi-dev-x.iam.gserviceaccount.com';
const CANDIDATE_URL = 'https://candidate---tsi-api-abc-ew.a.run.app';

const GCLOUD = `#!/usr/bin/env bash
echo "gcloud $*" >> "$CALLS"
case "$*" in
  *"latestCreatedRevisionName"*) echo tsi-api-00002 ;;
  *"traffic[0].revisionName"*) echo tsi-api-00001 ;;
  *"run services update-traffic"*) ;;
  *"run revisions describe"*) echo True ;;
  *"run services describe"*"--format=json"*) echo '{"status":{"traffic":[{"revisionName":"tsi-api-00001","percent":100},{"revisionName":"tsi-api-00002","tag":"candidate","url":"${CANDIDATE_URL}"}]}}' ;;
  "config get-value account") echo ${DEPLOYER} ;;
  "iam service-accounts sign-jwt --iam-account=${DEPLOYER} "*) cp "$5" "$CLAIMS"; echo signed-iap-jwt > "$6" ;;
  "auth print-identity-token"*) echo google-id-token ;;
  *) echo "unexpected gcloud $*" >&2; exit 2 ;;
esac
`;
// Answers each request with the status in $STATUS, and records its arguments one per line.
const CURL = `#!/usr/bin/env bash
printf '%s\\n' "$@" > "$REQUEST"
out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
echo '{"status":"ready"}' > "$out"
printf '%s' "$STATUS"
`;

interface Run {
  status: number | null;
  stdout: string;
  calls: string[];
  request: string[];
  claims: Record<string, unknown> | undefined;
}

function runSmokeTest(apiUrl: string | null, readyStatus = '200'): Run {
  const dir = mkdtempSync(join(tmpdir(), 'tsi-smoke-'));
  try {
    const bin = join(dir, 'bin');
    spawnSync('mkdir', [bin]);
    for (const [name, body] of [['gcloud', GCLOUD], ['curl', CURL]] as const) {
      writeFileSync(join(bin, name), body);
      chmodSync(join(bin, name), 0o755);
    }
    writeFileSync(join(dir, 'services.json'), JSON.stringify({ api: 'tsi-api' }));
    writeFileSync(join(dir, 'api_url.json'), JSON.stringify(apiUrl));
    const file = (name: string) => join(dir, name);
    const result = spawnSync('bash', [join(ROOT, 'scripts', 'smoke-test.sh'), 'dev', 'europe-west1'], {
      encoding: 'utf8',
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        CALLS: file('calls'),
        CLAIMS: file('claims'),
        REQUEST: file('request'),
        STATUS: readyStatus,
        FUNCTION_SERVICES: file('services.json'),
        API_URL_FILE: file('api_url.json'),
        ROLLOUT_STATE: file('rollout.state'),
        SMOKE_RETRY_SECONDS: '0',
      },
    });
    const read = (name: string) => {
      try {
        return readFileSync(file(name), 'utf8');
      } catch {
        return undefined;
      }
    };
    const claims = read('claims');
    return {
      status: result.status,
      stdout: result.stdout + result.stderr,
      calls: (read('calls') ?? '').trim().split('\n'),
      request: (read('request') ?? '').trim().split('\n'),
      claims: claims ? (JSON.parse(claims) as Record<string, unknown>) : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/smoke-test.sh', () => {
  it('behind the load balancer, calls readiness through its candidate route with a JWT the deployer signs for IAP', async () => {
    const run = runSmokeTest('https://tsi-api.dev.example.com');
    expect([run.status, run.stdout]).toEqual([0, expect.stringContaining('api: GET /readyz on tsi-api-00002 -> 200')]);
    expect(run.request).toContain('https://tsi-api.dev.example.com/readyz');
    expect(run.request).toContain('Authorization: Bearer signed-iap-jwt');
    // The header is the one the URL map routes to the candidate backend.
    const header = locals(await parseDir(join(ROOT, 'terraform', 'modules', 'platform'))).candidate_header as { name: string; value: string };
    expect(run.request).toContain(`${header.name}: ${header.value}`);
    expect(run.claims).toMatchObject({ iss: DEPLOYER, sub: DEPLOYER, aud: 'https://tsi-api.dev.example.com/*' });
    const { iat, exp } = run.claims as { iat: number; exp: number };
    expect(exp - iat).toBeLessThanOrEqual(3600);
    expect(run.calls).toContain(`gcloud run services update-traffic tsi-api --region europe-west1 --update-tags candidate=tsi-api-00002`);
    expect(run.calls.some((c) => c.includes('print-identity-token'))).toBe(false);
  });

  it('without a load balancer (api_url null), calls the candidate URL with an ID token as before', () => {
    const run = runSmokeTest(null);
    expect(run.status).toBe(0);
    expect(run.request).toContain(`${CANDIDATE_URL}/readyz`);
    expect(run.request).toContain('Authorization: Bearer google-id-token');
    expect(run.request.some((a) => a.startsWith('x-tsi-revision'))).toBe(false);
    expect(run.claims).toBeUndefined();
  });

  it('fails (so Cloud Build rolls back) when the candidate is not ready', () => {
    const run = runSmokeTest('https://tsi-api.dev.example.com', '503');
    expect([run.status, run.stdout]).toEqual([1, expect.stringContaining('api: GET /readyz on tsi-api-00002 -> 503')]);
  });
});
