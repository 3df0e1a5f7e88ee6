project_id         = "tsi-dev-REPLACE"
environment        = "dev"
region             = "europe-west1"
firestore_location = "europe-west1"

firestore_backup_retention_days = 3

artifact_bucket          = "tsi-dev-REPLACE-artifacts"
deployer_service_account = "tsi-deployer@tsi-dev-REPLACE.iam.gserviceaccount.com"

functions = {
  api            = { min_instances = 0, max_instances = 5, memory = "512Mi", timeout_seconds = 60, concurrency = 40 }
  worker         = { min_instances = 0, max_instances = 5, memory = "1Gi", timeout_seconds = 540, concurrency = 1 }
  reconciler     = { min_instances = 0, max_instances = 1, memory = "256Mi", timeout_seconds = 300, concurrency = 1 }
  intake         = { min_instances = 0, max_instances = 2, memory = "256Mi", timeout_seconds = 60, concurrency = 20, ingress = "ALLOW_ALL" }
  retention      = { min_instances = 0, max_instances = 1, memory = "512Mi", timeout_seconds = 540, concurrency = 1 }
  erasure        = { min_instances = 0, max_instances = 2, memory = "512Mi", timeout_seconds = 540, concurrency = 1 }
  webhooks       = { min_instances = 0, max_instances = 3, memory = "256Mi", timeout_seconds = 60, concurrency = 10 }
  backup         = { min_instances = 0, max_instances = 1, memory = "256Mi", timeout_seconds = 540, concurrency = 1 }
  "data-quality" = { min_instances = 0, max_instances = 1, memory = "512Mi", timeout_seconds = 540, concurrency = 1 }
}

invokers = {
  api    = ["group:tsi-dev-users@example.com"]
  intake = []
}

schedules = {
  reconciler     = "*/5 * * * *"
  retention      = "0 3 * * *"
  backup         = "30 2 * * *"
  "data-quality" = "0 6 * * *"
}

warehouse_project  = "tsi-warehouse-dev-REPLACE"
warehouse_dataset  = "dbt_marts"
warehouse_datasets = ["dbt_marts"]
warehouse_location = "EU"

audit_retention_days = 30
lock_audit_bucket    = false
deletion_protection  = false

notification_emails = ["tsi-dev-alerts@example.com"]

alert_thresholds = {
  error_rate           = 0.10
  latency_p95_ms       = 3000
  dead_letter_messages = 0
  stuck_requeues       = 5
  guard_refusals       = 50
  webhook_failures     = 20
}

log_level   = "DEBUG"
cost_center = "trust-safety-dev"

# Network security (docs/deploy.md "Network security").
# API only through the HTTPS load balancer with IAP and Cloud Armor ("internal" = VPC-only, no LB).
api_exposure = "iap"
api_domain   = "tsi-api.dev.example.com"

cloud_armor = {
  waf_mode            = "preview" # matches are logged, not blocked; prod enforces
  rate_limit_count    = 1200      # per client IP per rate_limit_interval seconds, then 429 + ban
  rate_limit_interval = 60
  ban_duration_sec    = 120
  verbose_logs        = true
}

vpc_service_controls = {
  access_policy      = "REPLACE_WITH_ACCESS_POLICY_ID" # gcloud access-context-manager policies list --organization=ORG_ID
  mode               = "dry_run"                       # violations are logged, nothing is blocked; prod is enforced
  ingress_identities = ["group:tsi-dev-admins@example.com"]
}

egress = {
  connector_cidr = "10.8.0.0/28"
}
