# Cloud Scheduler calls each scheduled function over HTTPS with an OIDC token. The body is a
# Pub/Sub push envelope around a scheduler CloudEvent, so the function receives exactly the
# messagePublished CloudEvent it receives locally (the job uses its own clock, not the event time).

resource "google_cloud_scheduler_job" "job" {
  for_each         = { for name, f in local.scheduled : name => f if f.status == "active" }
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-${each.key}"
  description      = each.value.description
  schedule         = var.schedules[each.key]
  time_zone        = var.schedule_time_zone
  attempt_deadline = "${min(1800, max(15, var.functions[each.key].timeout_seconds))}s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "600s"
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.function[each.key].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.topic["events"].name}"
    headers     = { "Content-Type" = "application/json" }
    body = base64encode(jsonencode({
      subscription = "projects/${var.project_id}/subscriptions/${var.name_prefix}-scheduler-${each.key}"
      message = {
        messageId  = "scheduler-${each.key}"
        attributes = { type = each.value.trigger.event_name }
        data = base64encode(jsonencode({
          specversion     = "1.0"
          id              = "evt_scheduler_${replace(each.key, "-", "_")}"
          source          = "//tsi.platform/scheduler"
          type            = "tsi.${each.value.trigger.event_name}.v1"
          time            = "2024-01-01T00:00:00Z"
          datacontenttype = "application/json"
          data            = { job = trimprefix(each.value.trigger.event_name, "scheduler.") }
        }))
      }
    }))

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invoker]
}

# Readiness probe of each function with a readiness endpoint, every minute, as the Scheduler
# identity. Cloud Scheduler in the project counts as internal traffic, so it reaches the function
# whatever its ingress (the internet, an uptime check included, is refused). No retries: each
# minute is one sample; monitoring.tf alerts on repeated failures.
resource "google_cloud_scheduler_job" "readiness" {
  for_each         = { for name, f in local.active : name => f if try(f.readiness_path, null) != null }
  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-${each.key}-readiness"
  description      = "Readiness probe of ${each.key} (GET ${each.value.readiness_path})."
  schedule         = "* * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "30s"

  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "GET"
    uri         = "${google_cloudfunctions2_function.function[each.key].service_config[0].uri}${each.value.readiness_path}"

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.readiness_invoker]
}
