# The audit trail: a dedicated log bucket (retention locked in prod), the sink that routes the
# platform audit log and Cloud Audit Logs into it, and Data Access audit logs for the services
# that hold or guard personal data.

resource "google_logging_project_bucket_config" "audit" {
  project        = var.project_id
  location       = var.log_bucket_location
  bucket_id      = "${var.name_prefix}-audit"
  description    = "TSI audit trail (${var.environment})"
  retention_days = var.audit_retention_days
  locked         = var.lock_audit_bucket
}

resource "google_logging_project_sink" "audit" {
  project                = var.project_id
  name                   = "${var.name_prefix}-audit-sink"
  destination            = "logging.googleapis.com/${google_logging_project_bucket_config.audit.id}"
  filter                 = "logName=\"projects/${var.project_id}/logs/${var.audit_log_name}\" OR logName:\"/logs/cloudaudit.googleapis.com\""
  unique_writer_identity = true
}

resource "google_project_iam_audit_config" "data_access" {
  for_each = toset([
    "firestore.googleapis.com",
    "datastore.googleapis.com",
    "bigquery.googleapis.com",
    "secretmanager.googleapis.com",
    "cloudkms.googleapis.com",
  ])
  project = var.project_id
  service = each.key

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}

# Signed checkpoints of the audit chain (head hash, count, time; docs/decisions/0030): kept apart
# from the log they anchor, write-once under a retention policy as long as the audit trail's,
# locked where the audit bucket is locked, so truncating or rewriting the log is caught by
# `tsi audit verify`.
resource "google_storage_bucket" "audit_checkpoints" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name_prefix}-audit-checkpoints"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  retention_policy {
    retention_period = var.audit_retention_days * 86400
    is_locked        = var.lock_audit_bucket
  }
}

# Writers create checkpoints (never overwrite: the retention policy forbids it) and read the last one.
resource "google_storage_bucket_iam_member" "audit_checkpoint_writer" {
  for_each = { for pair in flatten([for name, f in local.functions : [for role in ["roles/storage.objectCreator", "roles/storage.objectViewer"] : { name = name, role = role }] if contains(f.access, "audit-write")]) : "${pair.name}/${pair.role}" => pair }
  bucket   = google_storage_bucket.audit_checkpoints.name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.function[each.value.name].email}"
}
