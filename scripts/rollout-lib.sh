# Shared by smoke-test.sh, shift-traffic.sh and rollback.sh. Functions (2nd gen) run as Cloud Run
# services named in Terraform's `function_services` output; Terraform deploys new revisions with
# all_traffic_on_latest_revision = false, so they wait here without traffic.
set -euo pipefail
ENV="${1:?usage: $0 <env> <region>}"
REGION="${2:?usage: $0 <env> <region>}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE_FILE="${ROLLOUT_STATE:-/workspace/rollout.state}"

SERVICES_FILE="${FUNCTION_SERVICES:-/workspace/function_services.json}"  # terraform output -json function_services

services() { python3 -c 'import json,sys; [print(k, v) for k, v in json.load(open(sys.argv[1])).items()]' "$SERVICES_FILE"; }
latest_revision() { gcloud run services describe "$1" --region "$REGION" --format='value(status.latestCreatedRevisionName)'; }
serving_revision() { gcloud run services describe "$1" --region "$REGION" --format='value(status.traffic[0].revisionName)'; }
readiness_path() { python3 -c 'import json,sys; print(next((f.get("readiness_path", "") for f in json.load(open(sys.argv[1]))["functions"] if f["name"] == sys.argv[2]), ""))' "$ROOT/functions/manifest.json" "$1"; }
candidate_url() { gcloud run services describe "$1" --region "$REGION" --format=json | python3 -c 'import json,sys; print(next((t["url"] for t in json.load(sys.stdin)["status"].get("traffic", []) if t.get("tag") == "candidate"), ""))'; }
