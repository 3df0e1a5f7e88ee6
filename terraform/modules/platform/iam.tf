# Least privilege: project-level roles only where the API has no finer resource, derived from each
# function's `access` list in functions/manifest.json. Resource-scoped grants (topic, secret, key,
# dataset, bucket) sit next to their resource.

resource "google_project_iam_member" "function" {
  for_each = local.function_project_roles
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

# Identity of Pub/Sub push deliveries (OIDC token on every push).
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-pubsub-push"
  display_name = "${var.name_prefix} Pub/Sub push identity"
}

# Identity of Cloud Scheduler jobs (OIDC token on every trigger).
resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "${var.name_prefix} Cloud Scheduler identity"
}

# Pub/Sub mints the push OIDC tokens as the push identity.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
