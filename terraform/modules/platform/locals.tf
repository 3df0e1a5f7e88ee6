# The function manifest is the one list of functions: everything per function below comes from it.
locals {
  manifest  = jsondecode(file("${path.module}/../../../functions/manifest.json"))
  functions = { for f in local.manifest.functions : f.name => f }
  # Planned functions get their identity, dead-letter topic and alerts now; their deployment,
  # subscription and schedule appear when their code lands and the manifest says active.
  active    = { for name, f in local.functions : name => f if f.status == "active" }
  events    = { for name, f in local.functions : name => f if f.trigger.kind == "event" }
  scheduled = { for name, f in local.functions : name => f if f.trigger.kind == "schedule" }
  http      = { for name, f in local.functions : name => f if f.trigger.kind == "http" }

  labels = merge(var.labels, { app = var.name_prefix, environment = var.environment, managed_by = "terraform" })

  api_audience = var.api_audience != "" ? var.api_audience : "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name_prefix}-api"

  # Plain settings Terraform knows; each function gets exactly the keys its manifest entry lists.
  env_values = {
    TSI_MODE                    = "production"
    GOOGLE_CLOUD_PROJECT        = var.project_id
    TSI_REGION                  = var.region
    TSI_FIRESTORE_DATABASE      = google_firestore_database.main.name
    TSI_EVENTS_TOPIC            = google_pubsub_topic.topic["events"].name
    TSI_AUDIT_LOG_NAME          = var.audit_log_name
    TSI_AUDIENCE                = local.api_audience
    TSI_WAREHOUSE_PROJECT       = var.warehouse_project
    TSI_WAREHOUSE_DATASET       = var.warehouse_dataset
    TSI_WAREHOUSE_LOCATION      = var.warehouse_location
    TSI_LEASE_SECONDS           = tostring(var.lease_seconds)
    TSI_MAX_ATTEMPTS            = tostring(var.max_attempts)
    TSI_KMS_KEY                 = google_kms_crypto_key.kek.id
    TSI_BACKUP_BUCKET           = google_storage_bucket.backups.name
    TSI_VAULT_BUCKET            = google_storage_bucket.vault.name
    TSI_AUDIT_CHECKPOINT_BUCKET = google_storage_bucket.audit_checkpoints.name
    LOG_LEVEL                   = var.log_level
  }

  secret_ids = toset(flatten([for f in values(local.functions) : values(f.secrets)]))

  # Project-level roles per manifest access; resource-scoped grants live next to their resource.
  project_roles_by_access = {
    "firestore"        = ["roles/datastore.user"]
    "audit-write"      = ["roles/logging.logWriter"]
    "audit-read"       = ["roles/logging.viewer"]
    "bigquery-jobs"    = ["roles/bigquery.jobUser"]
    "firestore-export" = ["roles/datastore.importExportAdmin"]
  }
  function_project_roles = { for g in flatten([
    for name, f in local.functions : [
      for access in f.access : [
        for role in lookup(local.project_roles_by_access, access, []) : { key = "${name}:${role}", function = name, role = role }
      ]
    ]
  ]) : g.key => g }

  # Each HTTP function's invokers from the environment, plus the deployer (smoke tests). Behind the
  # load balancer the API's users are IAP accessors instead (ingress.tf): IAP's service agent is
  # the one that invokes the service, so they need no run.invoker of their own.
  http_invokers = { for g in flatten([
    for name, f in local.active : [
      for member in concat(name == "api" && local.api_via_lb ? [] : lookup(var.invokers, name, []), ["serviceAccount:${var.deployer_service_account}"]) : { key = "${name}:${member}", function = name, member = member }
    ] if f.trigger.kind == "http"
  ]) : g.key => g }

  # Network security (docs/deploy.md "Network security").
  # The API is never ALLOW_ALL: behind the HTTPS load balancer (IAP + Cloud Armor) it accepts only
  # load-balancer and internal traffic, otherwise internal traffic only; direct run.app and
  # cloudfunctions.net requests from the internet are refused by Cloud Run before any code runs.
  api_via_lb  = var.api_exposure == "iap"
  api_ingress = local.api_via_lb ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"
  ingress = { for name, f in local.functions : name => (
    f.trigger.kind != "http" ? "ALLOW_INTERNAL_ONLY" : name == "api" ? local.api_ingress : var.functions[name].ingress
  ) }

  # Functions that call receivers outside Google (webhook deliveries): all their egress leaves
  # through the connector and Cloud NAT, so receivers can allowlist one address (network.tf).
  fixed_egress_functions = toset(["webhooks"])

  # Settings Terraform derives from resources rather than from the manifest's env list: the IAP
  # audience exists only behind the load balancer (TSI_IAP_AUDIENCE is optional in config.ts).
  iap_audience = local.api_via_lb ? "/projects/${data.google_project.this.number}/global/backendServices/${google_compute_backend_service.api[0].generated_id}" : ""
  derived_env = {
    api = { for key, value in { TSI_IAP_AUDIENCE = local.iap_audience } : key => value if value != "" }
  }

  firestore_indexes = jsondecode(file("${path.module}/../../firestore.indexes.json"))
}
