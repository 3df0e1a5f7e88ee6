#!/usr/bin/env bash
# Smoke-tests every function's new (traffic-less) revision: tags it `candidate`, waits until it is
# Ready (a config error stops start-up, so a bad config fails here) and, for functions with a
# readiness endpoint, calls it through the candidate URL with an ID token. Records the previous
# serving revision of each service in $ROLLOUT_STATE for shift-traffic.sh / rollback.sh.
# Exit 0 = every candidate healthy.
source "$(dirname "$0")/rollout-lib.sh"
: > "$STATE_FILE"
failed=0
while read -r fn service; do
  new="$(latest_revision "$service")"
  old="$(serving_revision "$service")"
  echo "$fn $service $old $new" >> "$STATE_FILE"
  [ "$new" = "$old" ] && { echo "$fn: no new revision"; continue; }
  gcloud run services update-traffic "$service" --region "$REGION" --update-tags "candidate=$new" >/dev/null
  ready="$(gcloud run revisions describe "$new" --region "$REGION" --format='value(status.conditions[0].status)')"
  if [ "$ready" != "True" ]; then echo "$fn: revision $new is not Ready"; failed=1; continue; fi
  path="$(readiness_path "$fn")"
  if [ -n "$path" ]; then
    url="$(candidate_url "$service")"
    token="$(gcloud auth print-identity-token --audiences="$url")"
    code="$(curl -s -o /tmp/smoke-body -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $token" "$url$path" || echo 000)"
    echo "$fn: GET $path on $new -> $code"
    [ "$code" = "200" ] || { cat /tmp/smoke-body || true; failed=1; }
  fi
done < <(services)
exit "$failed"
