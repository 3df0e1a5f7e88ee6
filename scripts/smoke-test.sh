#!/usr/bin/env bash
# Smoke-tests every function's new (traffic-less) revision: tags it `candidate`, waits until it is
# Ready (a config error stops start-up, so a bad config fails here) and, for functions with a
# readiness endpoint, calls it: behind the load balancer (api_exposure = iap) through its candidate
# route (header x-tsi-revision: candidate, terraform/modules/platform/ingress.tf) past IAP with a
# JWT the deployer signs, since the run.app URL refuses outside requests; otherwise through the
# candidate URL with an ID token. Records the previous serving revision of each service in
# $ROLLOUT_STATE for shift-traffic.sh / rollback.sh. Exit 0 = every candidate healthy.
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
    lb="$(load_balancer_url "$fn")"
    if [ -n "$lb" ]; then
      url="$lb"; token="$(iap_jwt "$lb")"; route=(-H "x-tsi-revision: candidate")
    else
      url="$(candidate_url "$service")"; token="$(gcloud auth print-identity-token --audiences="$url")"; route=()
    fi
    # A new tag takes a moment to reach the load balancer: a few tries before calling it failed.
    for attempt in 1 2 3 4 5 6; do
      code="$(curl -s -o /tmp/smoke-body -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $token" "${route[@]}" "$url$path" || echo 000)"
      [ "$code" = "200" ] && break
      [ "$attempt" = 6 ] || sleep "${SMOKE_RETRY_SECONDS:-10}"
    done
    echo "$fn: GET $path on $new -> $code"
    [ "$code" = "200" ] || { cat /tmp/smoke-body || true; failed=1; }
  fi
done < <(services)
exit "$failed"
