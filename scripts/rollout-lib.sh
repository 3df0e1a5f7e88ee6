# Shared by smoke-test.sh, shift-traffic.sh and rollback.sh. Functions (2nd gen) run as Cloud Run
# services named in Terraform's `function_services` output; Terraform deploys new revisions with
# all_traffic_on_latest_revision = false, so they wait here without traffic.
set -euo pipefail
ENV="${1:?usage: $0 <env> <region>}"
REGION="${2:?usage: $0 <env> <region>}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE_FILE="${ROLLOUT_STATE:-/workspace/rollout.state}"

SERVICES_FILE="${FUNCTION_SERVICES:-/workspace/function_services.json}"  # terraform output -json function_services
API_URL_FILE="${API_URL_FILE:-/workspace/api_url.json}"                  # terraform output -json api_url (null unless behind the load balancer)

services() { python3 -c 'import json,sys; [print(k, v) for k, v in json.load(open(sys.argv[1])).items()]' "$SERVICES_FILE"; }
latest_revision() { gcloud run services describe "$1" --region "$REGION" --format='value(status.latestCreatedRevisionName)'; }
serving_revision() { gcloud run services describe "$1" --region "$REGION" --format='value(status.traffic[0].revisionName)'; }
readiness_path() { python3 -c 'import json,sys; print(next((f.get("readiness_path", "") for f in json.load(open(sys.argv[1]))["functions"] if f["name"] == sys.argv[2]), ""))' "$ROOT/functions/manifest.json" "$1"; }
candidate_url() { gcloud run services describe "$1" --region "$REGION" --format=json | python3 -c 'import json,sys; print(next((t["url"] for t in json.load(sys.stdin)["status"].get("traffic", []) if t.get("tag") == "candidate"), ""))'; }
# The load balancer URL a function is reached through (only the api, only with api_exposure = iap), or "".
load_balancer_url() { [ "$1" = api ] && [ -f "$API_URL_FILE" ] && python3 -c 'import json,sys; print(json.load(open(sys.argv[1])) or "")' "$API_URL_FILE" || true; }
# A JWT the caller's service account signs for IAP (service-account JWT, audience "<url>/*", 10 min).
iap_jwt() {
  local sa now claims out
  sa="$(gcloud config get-value account 2>/dev/null)"
  now="$(date +%s)"
  claims="$(mktemp)"; out="$(mktemp)"
  printf '{"iss":"%s","sub":"%s","aud":"%s/*","iat":%s,"exp":%s}' "$sa" "$sa" "$1" "$now" "$((now + 600))" > "$claims"
  gcloud iam service-accounts sign-jwt --iam-account="$sa" "$claims" "$out" >/dev/null
  cat "$out"; rm -f "$claims" "$out"
}
