# Log-based metrics read the `metric` field the code logs (shared/platform/metrics.ts), alert
# policies page the environment's channels, a scheduled probe calls the API's readiness endpoint,
# and SLOs cover API availability and latency. docs/operations.md says what each alert means.

locals {
  runbook          = "https://github.com/tsi-platform/tsi/blob/main/docs/operations.md"
  functions_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=starts_with(\"${var.name_prefix}-\")"

  # name => metric definition (counter unless value_field is set)
  log_metrics = {
    investigation_runs = {
      description = "Investigation runs that finished, by outcome."
      filter      = "jsonPayload.metric.name=\"investigation.run\""
      labels      = { outcome = "EXTRACT(jsonPayload.metric.labels.outcome)" }
      value_field = null
    }
    investigation_duration = {
      description = "Duration of investigation runs (ms)."
      filter      = "jsonPayload.metric.name=\"investigation.run\""
      labels      = { outcome = "EXTRACT(jsonPayload.metric.labels.outcome)" }
      value_field = "jsonPayload.metric.value"
    }
    investigation_requeued = {
      description = "Investigations the reconciler re-queued or failed because their lease expired (stuck work)."
      filter      = "jsonPayload.metric.name=\"investigation.requeued\""
      labels      = { reason = "EXTRACT(jsonPayload.metric.labels.reason)" }
      value_field = null
    }
    guard_refusals = {
      description = "Warehouse queries the query guard refused."
      filter      = "jsonPayload.metric.name=\"guard.refusal\""
      labels      = { rule = "EXTRACT(jsonPayload.metric.labels.rule)" }
      value_field = null
    }
    webhook_failures = {
      description = "Webhook deliveries that failed."
      filter      = "jsonPayload.metric.name=\"webhook.failure\""
      labels      = { reason = "EXTRACT(jsonPayload.metric.labels.reason)" }
      value_field = null
    }
    job_failures = {
      description = "Scheduled job runs that failed."
      filter      = "jsonPayload.metric.name=\"job.run\" AND jsonPayload.metric.labels.outcome=\"failed\""
      labels      = { job = "EXTRACT(jsonPayload.metric.labels.job)" }
      value_field = null
    }
    function_errors = {
      description = "ERROR (and worse) log entries of the platform's functions."
      filter      = "severity>=ERROR"
      labels      = { service_name = "EXTRACT(resource.labels.service_name)" }
      value_field = null
    }
  }

  # Threshold alerts on log-based metrics: name => (metric, threshold, window, doc anchor)
  log_alerts = {
    stuck-investigations = { metric = "investigation_requeued", threshold = var.alert_thresholds.stuck_requeues, window = "1800s", severity = "ERROR", title = "Stuck investigations" }
    job-failures         = { metric = "job_failures", threshold = 0, window = "300s", severity = "ERROR", title = "Scheduled job failures" }
    guard-refusals-spike = { metric = "guard_refusals", threshold = var.alert_thresholds.guard_refusals, window = "600s", severity = "WARNING", title = "Guard refusals spike" }
    webhook-failures     = { metric = "webhook_failures", threshold = var.alert_thresholds.webhook_failures, window = "600s", severity = "WARNING", title = "Webhook delivery failures" }
    function-errors      = { metric = "function_errors", threshold = 5, window = "300s", severity = "ERROR", title = "Function errors" }
  }

  api_service = "${var.name_prefix}-api"
}

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.notification_emails)
  project      = var.project_id
  display_name = "${var.name_prefix} ${var.environment} on-call (${each.key})"
  type         = "email"
  labels       = { email_address = each.key }
  user_labels  = local.labels
}

resource "google_logging_metric" "metric" {
  for_each    = local.log_metrics
  project     = var.project_id
  name        = "${var.name_prefix}_${each.key}"
  description = each.value.description
  filter      = "${local.functions_filter} AND ${each.value.filter}"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = each.value.value_field == null ? "INT64" : "DISTRIBUTION"
    unit        = each.value.value_field == null ? "1" : "ms"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }

  label_extractors = each.value.labels
  value_extractor  = each.value.value_field == null ? null : "EXTRACT(${each.value.value_field})"

  dynamic "bucket_options" {
    for_each = each.value.value_field == null ? [] : [1]
    content {
      exponential_buckets {
        num_finite_buckets = 32
        growth_factor      = 1.5
        scale              = 10
      }
    }
  }
}

resource "google_monitoring_alert_policy" "log_metric" {
  for_each              = local.log_alerts
  project               = var.project_id
  display_name          = "${var.name_prefix} ${var.environment}: ${each.value.title}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
  user_labels           = local.labels

  conditions {
    display_name = each.value.title
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.metric[each.value.metric].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
      aggregations {
        alignment_period     = each.value.window
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "See ${local.runbook}#${each.key}"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "error_rate" {
  project               = var.project_id
  display_name          = "${var.name_prefix} ${var.environment}: HTTP error rate"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
  user_labels           = local.labels

  conditions {
    display_name = "5xx ratio above ${var.alert_thresholds.error_rate}"
    condition_threshold {
      filter             = "metric.type=\"run.googleapis.com/request_count\" AND ${local.functions_filter} AND metric.labels.response_code_class=\"5xx\""
      denominator_filter = "metric.type=\"run.googleapis.com/request_count\" AND ${local.functions_filter}"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_thresholds.error_rate
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
    }
  }

  documentation {
    content   = "See ${local.runbook}#error-rate"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "latency" {
  project               = var.project_id
  display_name          = "${var.name_prefix} ${var.environment}: API latency"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
  user_labels           = local.labels

  conditions {
    display_name = "API p95 latency above ${var.alert_thresholds.latency_p95_ms} ms"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_latencies\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.api_service}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.latency_p95_ms
      duration        = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_95"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  documentation {
    content   = "See ${local.runbook}#latency"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  project               = var.project_id
  display_name          = "${var.name_prefix} ${var.environment}: Dead-letter backlog"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
  user_labels           = local.labels

  conditions {
    display_name = "Messages waiting in a dead-letter subscription"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=ends_with(\"-dead-letter\")"
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_thresholds.dead_letter_messages
      duration        = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.labels.subscription_id"]
      }
    }
  }

  documentation {
    content   = "See ${local.runbook}#dead-letter-backlog"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "scheduler_failures" {
  project               = var.project_id
  display_name          = "${var.name_prefix} ${var.environment}: Scheduler attempts failing"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
  user_labels           = local.labels

  conditions {
    display_name = "Cloud Scheduler could not run a job"
    condition_matched_log {
      # Readiness probe failures page through their own alert (readiness), not here.
      filter = "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=starts_with(\"${var.name_prefix}-\") AND NOT resource.labels.job_id=~\"-readiness$\" AND severity>=ERROR"
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
  }

  documentation {
    content   = "See ${local.runbook}#job-failures"
    mime_type = "text/markdown"
  }
}

# Readiness: Cloud Scheduler calls each function's readiness endpoint every minute
# (google_cloud_scheduler_job.readiness). An uptime check cannot: it comes from the internet, which
# the functions' ingress refuses (ingress.tf). A failed call is an ERROR entry of that job.
resource "google_logging_metric" "readiness_failures" {
  project     = var.project_id
  name        = "${var.name_prefix}_readiness_failures"
  description = "Readiness probe calls that failed (non-2xx, timeout or unreachable)."
  filter      = "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=~\"^${var.name_prefix}-.*-readiness$\" AND severity>=ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "job_id"
      value_type = "STRING"
    }
  }

  label_extractors = { job_id = "EXTRACT(resource.labels.job_id)" }
}

resource "google_monitoring_alert_policy" "readiness" {
  for_each              = google_cloud_scheduler_job.readiness
  project               = var.project_id
  display_name          = "${var.name_prefix} ${var.environment}: ${each.key} not ready"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
  user_labels           = local.labels

  # More than 2 of the 5 probes in five minutes failed: one slow cold start does not page.
  conditions {
    display_name = "Readiness probe failing"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.readiness_failures.name}\" AND resource.type=\"cloud_scheduler_job\" AND metric.labels.job_id=\"${each.value.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 2
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "See ${local.runbook}#readiness"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_custom_service" "api" {
  project      = var.project_id
  service_id   = "${var.name_prefix}-${var.environment}-api"
  display_name = "${var.name_prefix} ${var.environment} API"
  user_labels  = local.labels
}

resource "google_monitoring_slo" "api_availability" {
  project             = var.project_id
  service             = google_monitoring_custom_service.api.service_id
  slo_id              = "availability"
  display_name        = "API: ${var.slo.availability_goal * 100}% of requests are not 5xx (28 days)"
  goal                = var.slo.availability_goal
  rolling_period_days = 28

  request_based_sli {
    good_total_ratio {
      bad_service_filter   = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.api_service}\" AND metric.labels.response_code_class=\"5xx\""
      total_service_filter = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.api_service}\""
    }
  }
}

resource "google_monitoring_slo" "api_latency" {
  project             = var.project_id
  service             = google_monitoring_custom_service.api.service_id
  slo_id              = "latency"
  display_name        = "API: ${var.slo.latency_goal * 100}% of requests under ${var.slo.latency_ms} ms (28 days)"
  goal                = var.slo.latency_goal
  rolling_period_days = 28

  request_based_sli {
    distribution_cut {
      distribution_filter = "metric.type=\"run.googleapis.com/request_latencies\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.api_service}\""
      range {
        max = var.slo.latency_ms
      }
    }
  }
}

resource "google_monitoring_alert_policy" "slo_burn" {
  project               = var.project_id
  display_name          = "${var.name_prefix} ${var.environment}: API error budget burning fast"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]
  user_labels           = local.labels

  conditions {
    display_name = "Availability SLO burn rate above 10 over 1 hour"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.api_availability.id}\", \"3600s\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 10
      duration        = "0s"
    }
  }

  documentation {
    content   = "See ${local.runbook}#slo-burn"
    mime_type = "text/markdown"
  }
}
