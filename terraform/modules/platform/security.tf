# Secret Manager secrets (values are added out of band, never in Terraform state) and the Cloud
# KMS key encryption key with automatic rotation.

resource "google_secret_manager_secret" "secret" {
  for_each  = local.secret_ids
  project   = var.project_id
  secret_id = each.key
  labels    = local.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = { for g in flatten([
    for name, f in local.functions : [
      for env_name, secret in f.secrets : { key = "${name}:${secret}", function = name, secret = secret }
    ]
  ]) : g.key => g }
  project   = var.project_id
  secret_id = google_secret_manager_secret.secret[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

resource "google_kms_key_ring" "main" {
  project  = var.project_id
  name     = "${var.name_prefix}-${var.environment}"
  location = var.region
}

resource "google_kms_crypto_key" "kek" {
  name            = "${var.name_prefix}-kek"
  key_ring        = google_kms_key_ring.main.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = var.kms_rotation_period
  labels          = local.labels

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.kms_protection_level
  }

  # Destroying the key would make everything it wrapped unreadable.
  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "encrypter_decrypter" {
  for_each      = { for name, f in local.functions : name => f if contains(f.access, "kms") }
  crypto_key_id = google_kms_crypto_key.kek.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_service_account.function[each.key].email}"
}
