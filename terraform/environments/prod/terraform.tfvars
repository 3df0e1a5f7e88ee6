project_id         = "tsi-prod-REPLACE"
environment        = "prod"
region             = "europe-west1"
firestore_location = "eur3"

firestore_backup_retention_days = 7

artifact_bucket          = "tsi-prod-REPLACE-artifacts"
deployer_service_account = "tsi-deployer@tsi-prod-REPLACE.iam.gserviceaccount.com"

functions = {
  api            = { min_instances = 1, max_instances = 20, memory = "1Gi", timeout_seconds = 60, concurrency = 40 }
  worker         = { min_instances = 1, max_instances = 20, memory = "2Gi", cpu = "2", timeout_seconds = 540, concurrency = 1 }
  reconciler     = { min_instances = 0, max_instances = 1, memory = "512Mi", timeout_seconds = 300, concurrency = 1 }
  intake         = { min_instances = 0, max_instances = 5, memory = "512Mi", timeout_seconds = 60, concurrency = 20, ingress = "ALLOW_ALL" }
  retention      = { min_instances = 0, max_instances = 1, memory = "1Gi", timeout_seconds = 540, concurrency = 1 }
  erasure        = { min_instances = 0, max_instances = 5, memory = "1Gi", timeout_seconds = 540, concurrency = 1 }
  webhooks       = { min_instances = 0, max_instances = 10, memory = "512Mi", timeout_seconds = 60, concurrency = 10 }
  backup         = { min_instances = 0, max_instances = 1, memory = "512Mi", timeout_seconds = 540, concurrency = 1 }
  "data-quality" = { min_instances = 0, max_instances = 1, memory = "1Gi", timeout_seconds = 540, concurrency = 1 }
}

invokers = {
  api    = ["group:tsi-analysts@example.com", "group:tsi-leads@example.com", "group:tsi-compliance@example.com", "serviceAccount:case-tool@tsi-tools-REPLACE.iam.gserviceaccount.com"]
  intake = ["serviceAccount:abuse-intake-push@tsi-abuse-REPLACE.iam.gserviceaccount.com"]
}

schedules = {
  reconciler     = "*/2 * * * *"
  retention      = "0 3 * * *"
  backup         = "30 2 * * *"
  "data-quality" = "0 6 * * *"
}

warehouse_project  = "tsi-warehouse-prod-REPLACE"
warehouse_dataset  = "dbt_marts"
warehouse_datasets = ["dbt_marts"]
warehouse_location = "EU"

# Compliance: audit records are kept 400 days and the bucket's retention is locked (irreversible).
audit_retention_days = 400
lock_audit_bucket    = true
deletion_protection  = true

notification_emails = ["tsi-oncall@example.com", "tsi-prod-alerts@example.com"]

alert_thresholds = {
  error_rate           = 0.02
  latency_p95_ms       = 2000
  dead_letter_messages = 0
  stuck_requeues       = 3
  guard_refusals       = 20
  webhook_failures     = 10
}

log_level   = "INFO"
cost_center = "trust-safety"

# Network security (docs/deploy.md "Network security").
# API only through the HTTPS load balancer with IAP and Cloud Armor ("internal" = VPC-only, no LB).
api_exposure = "iap"
api_domain   = "tsi-api.example.com"

cloud_armor = {
  waf_mode            = "enforce" # matches get 403
  rate_limit_count    = 600       # per client IP per rate_limit_interval seconds, then 429 + ban
  rate_limit_interval = 60
  ban_duration_sec    = 600
  verbose_logs        = false
}

vpc_service_controls = {
  access_policy      = "REPLACE_WITH_ACCESS_POLICY_ID" # gcloud access-context-manager policies list --organization=ORG_ID
  mode               = "enforced"                      # dry_run in dev/staging; prod enforces
  ingress_identities = ["group:tsi-prod-admins@example.com"]
}

egress = {
  connector_cidr = "10.8.0.0/28"
}
