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
