#!/usr/bin/env bash
# After a passing smoke test: sends all traffic of each service to its new revision.
source "$(dirname "$0")/rollout-lib.sh"
while read -r fn service old new; do
  [ "$new" = "$old" ] && continue
  gcloud run services update-traffic "$service" --region "$REGION" --to-revisions "$new=100" --remove-tags candidate >/dev/null
  echo "$fn: traffic on $new (was $old)"
done < "$STATE_FILE"
