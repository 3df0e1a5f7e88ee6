# Bucket for Firestore exports (the backup function), versioned, with uniform access.

resource "google_storage_bucket" "backups" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name_prefix}-backups"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection
  labels                      = local.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "backup_writer" {
  for_each = { for name, f in local.functions : name => f if contains(f.access, "firestore-export") }
  bucket   = google_storage_bucket.backups.name
  role     = "roles/storage.objectAdmin"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Firestore's service agent writes the export files.
resource "google_storage_bucket_iam_member" "firestore_agent_writer" {
  bucket = google_storage_bucket.backups.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-firestore.iam.gserviceaccount.com"
}

# The vault: the erasure ledger and the subject-key escrow, kept outside the database they
# protect (docs/decisions/0035). Nothing here expires on its own: erasure deletes an escrow
# entry (every version of it), and a restore replays the ledger before first read. No soft
# delete, so a deleted escrow entry is gone at once and cannot be brought back.
resource "google_storage_bucket" "vault" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name_prefix}-vault"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection
  labels                      = local.labels

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = 0
  }
}

resource "google_storage_bucket_iam_member" "vault_user" {
  for_each = { for name, f in local.functions : name => f if contains(f.access, "vault") }
  bucket   = google_storage_bucket.vault.name
  role     = "roles/storage.objectAdmin"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}
