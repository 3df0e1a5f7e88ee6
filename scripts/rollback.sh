#!/usr/bin/env bash
# Puts all traffic back on the revision each service served before this rollout (recorded by
# smoke-test.sh) and drops the candidate tag. Also usable by hand after a bad shift:
#   ROLLOUT_STATE=rollout.state scripts/rollback.sh prod europe-west1
# or, for one service: gcloud run services update-traffic <service> --to-revisions <rev>=100
source "$(dirname "$0")/rollout-lib.sh"
while read -r fn service old new; do
  [ -z "$old" ] && continue
  gcloud run services update-traffic "$service" --region "$REGION" --to-revisions "$old=100" --remove-tags candidate >/dev/null
  echo "$fn: traffic back on $old (rejected $new)"
done < "$STATE_FILE"
