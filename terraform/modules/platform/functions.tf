# One 2nd-gen Cloud Function per active manifest entry, each with its own service account.

resource "google_service_account" "function" {
  for_each     = local.functions
  project      = var.project_id
  account_id   = "${var.name_prefix}-fn-${each.key}"
  display_name = "${var.name_prefix} ${each.key} function"
  description  = each.value.description
}

resource "google_cloudfunctions2_function" "function" {
  for_each    = local.active
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-${each.key}"
  description = each.value.description
  labels      = merge(local.labels, { function = each.key })

  build_config {
    runtime     = "nodejs20"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = var.artifact_bucket
        object = var.function_artifacts[each.key]
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function[each.key].email
    ingress_settings                 = local.ingress[each.key]
    min_instance_count               = var.functions[each.key].min_instances
    max_instance_count               = var.functions[each.key].max_instances
    available_memory                 = var.functions[each.key].memory
    available_cpu                    = var.functions[each.key].cpu
    timeout_seconds                  = var.functions[each.key].timeout_seconds
    max_instance_request_concurrency = var.functions[each.key].concurrency
    # New revisions start without traffic; Cloud Build smoke-tests them and then shifts traffic
    # (scripts/shift-traffic.sh) or leaves the previous revision serving (scripts/rollback.sh).
    all_traffic_on_latest_revision = false

    # Fixed egress (network.tf): every request these functions make, not only private ranges,
    # goes through the connector, so Cloud NAT's reserved address is their only source address.
    vpc_connector                 = contains(local.fixed_egress_functions, each.key) ? google_vpc_access_connector.egress.id : null
    vpc_connector_egress_settings = contains(local.fixed_egress_functions, each.key) ? "ALL_TRAFFIC" : null

    environment_variables = merge({ for key in each.value.env : key => local.env_values[key] }, try(local.derived_env[each.key], {}))

    dynamic "secret_environment_variables" {
      for_each = each.value.secrets
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.secret[secret_environment_variables.value].secret_id
        version    = "latest"
      }
    }
  }

  depends_on = [
    google_project_iam_member.function,
    google_secret_manager_secret_iam_member.accessor,
  ]
}

# Invokers of HTTP functions: the groups and service accounts named per environment.
resource "google_cloud_run_v2_service_iam_member" "http_invoker" {
  for_each = local.http_invokers
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

# Event functions are invoked only by the Pub/Sub push identity.
resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  for_each = { for name, f in local.active : name => f if f.trigger.kind == "event" }
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

# Scheduled functions are invoked only by the Cloud Scheduler identity.
resource "google_cloud_run_v2_service_iam_member" "scheduler_invoker" {
  for_each = { for name, f in local.active : name => f if f.trigger.kind == "schedule" }
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# The readiness probe (scheduler.tf) calls the readiness endpoint as the Cloud Scheduler identity.
resource "google_cloud_run_v2_service_iam_member" "readiness_invoker" {
  for_each = { for name, f in local.active : name => f if try(f.readiness_path, null) != null }
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

data "google_project" "this" {
  project_id = var.project_id
}
