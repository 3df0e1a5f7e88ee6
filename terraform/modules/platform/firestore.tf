# Firestore with point-in-time recovery and delete protection in every environment, a daily
# backup schedule, TTL policies and the composite indexes from terraform/firestore.indexes.json
# (the same file the embedded emulator enforces, so every query the tests run is checked).

resource "google_firestore_database" "main" {
  project                           = var.project_id
  name                              = var.firestore_database
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"
}

resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "${var.firestore_backup_retention_days * 86400}s"

  daily_recurrence {}
}

resource "google_firestore_index" "composite" {
  for_each = {
    for idx in local.firestore_indexes.indexes :
    "${idx.collectionGroup}:${try(idx.queryScope, "COLLECTION")}:${join(",", [for f in idx.fields : "${f.fieldPath}:${try(f.order, f.arrayConfig)}"])}" => idx
  }
  project     = var.project_id
  database    = google_firestore_database.main.name
  collection  = each.value.collectionGroup
  query_scope = try(each.value.queryScope, "COLLECTION")

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = try(fields.value.order, null)
      array_config = try(fields.value.arrayConfig, null)
    }
  }
}

resource "google_firestore_field" "ttl" {
  for_each   = { for o in local.firestore_indexes.fieldOverrides : "${o.collectionGroup}.${o.fieldPath}" => o if try(o.ttl, false) }
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  ttl_config {}

  # TTL timestamps are written in order; no single-field index avoids hot-spotting.
  index_config {}
}
