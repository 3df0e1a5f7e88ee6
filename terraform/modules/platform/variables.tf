# Everything that differs between environments is a variable; environments/<env> sets them.

variable "project_id" {
  type        = string
  description = "Google Cloud project of this environment."
}

variable "environment" {
  type        = string
  description = "dev, staging or prod."
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions, scheduler jobs and key ring."
}

variable "name_prefix" {
  type    = string
  default = "tsi"
}

variable "firestore_location" {
  type        = string
  description = "Firestore location (region or multi-region such as eur3)."
}

variable "firestore_database" {
  type    = string
  default = "(default)"
}

variable "firestore_backup_retention_days" {
  type        = number
  description = "Retention of the daily Firestore backups (daily schedules allow at most 7 days)."
  default     = 7
  validation {
    condition     = var.firestore_backup_retention_days >= 1 && var.firestore_backup_retention_days <= 7
    error_message = "Daily Firestore backups are kept 1 to 7 days."
  }
}

variable "functions" {
  description = "Size of each function in functions/manifest.json (every function must have an entry)."
  type = map(object({
    min_instances   = number
    max_instances   = number
    memory          = string
    cpu             = optional(string)
    timeout_seconds = number
    concurrency     = number
    ingress         = optional(string, "ALLOW_INTERNAL_ONLY")
  }))
  validation {
    condition     = alltrue([for f in values(var.functions) : contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], f.ingress)])
    error_message = "ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
  # The API's ingress follows api_exposure (network.tf / ingress.tf), never this field.
  validation {
    condition     = alltrue([for name, f in var.functions : name != "api" || f.ingress == "ALLOW_INTERNAL_ONLY"])
    error_message = "Do not set ingress for the api: it follows api_exposure (ALLOW_INTERNAL_AND_GCLB behind the load balancer, ALLOW_INTERNAL_ONLY otherwise)."
  }
  validation {
    condition     = alltrue([for f in values(var.functions) : f.min_instances >= 0 && f.max_instances >= 1 && f.min_instances <= f.max_instances])
    error_message = "Each function needs 0 <= min_instances <= max_instances and max_instances >= 1."
  }
}

variable "artifact_bucket" {
  type        = string
  description = "Bucket holding the function bundles (uploaded by Cloud Build as <function>/<sha256>.zip)."
}

variable "function_artifacts" {
  type        = map(string)
  description = "Object name of each active function's bundle (dist/functions/artifacts.auto.tfvars.json from npm run build:functions)."
  default     = {}
}

variable "invokers" {
  type        = map(list(string))
  description = "Who may invoke each HTTP function (roles/run.invoker): groups and service accounts only."
  default     = {}
  validation {
    condition = alltrue(flatten([for members in values(var.invokers) : [
      for m in members : can(regex("^(group|serviceAccount):", m))
    ]]))
    error_message = "Invokers must be group: or serviceAccount: members (never allUsers or allAuthenticatedUsers)."
  }
}

variable "deployer_service_account" {
  type        = string
  description = "Email of the Cloud Build service account (it smoke-tests new revisions, so it may invoke HTTP functions)."
}

variable "schedules" {
  type        = map(string)
  description = "Cron schedule of each scheduled function (reconciler, retention, backup, data-quality)."
}

variable "schedule_time_zone" {
  type    = string
  default = "Etc/UTC"
}

variable "warehouse_project" {
  type        = string
  description = "Project of the warehouse datasets (BigQuery)."
}

variable "warehouse_dataset" {
  type        = string
  description = "Dataset the agent queries (TSI_WAREHOUSE_DATASET)."
}

variable "warehouse_datasets" {
  type        = list(string)
  description = "Datasets the worker may read (read-only). Must include warehouse_dataset."
}

variable "warehouse_location" {
  type    = string
  default = "EU"
}

variable "audit_log_name" {
  type    = string
  default = "tsi-audit"
}

variable "log_bucket_location" {
  type    = string
  default = "global"
}

variable "audit_retention_days" {
  type        = number
  description = "Retention of the audit log bucket."
}

variable "lock_audit_bucket" {
  type        = bool
  description = "Locks the audit bucket's retention (irreversible). True in prod."
}

variable "deletion_protection" {
  type        = bool
  description = "Protects buckets and the database from deletion by Terraform. True in prod."
}

variable "kms_rotation_period" {
  type    = string
  default = "7776000s" # 90 days
}

variable "kms_protection_level" {
  type    = string
  default = "SOFTWARE"
}

variable "max_delivery_attempts" {
  type    = number
  default = 10
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub allows 5 to 100 delivery attempts before dead-lettering."
  }
}

variable "lease_seconds" {
  type    = number
  default = 300 # > the 120 s query timeout with margin; the worker also renews it every lease/3
}

variable "max_attempts" {
  type    = number
  default = 3
}

variable "log_level" {
  type    = string
  default = "INFO"
}

variable "api_audience" {
  type        = string
  description = "Audience of ID tokens for the API (TSI_AUDIENCE); empty = the api function's cloudfunctions.net URL."
  default     = ""
}

variable "notification_emails" {
  type        = list(string)
  description = "Who is paged by the alert policies of this environment."
}

variable "alert_thresholds" {
  type = object({
    error_rate           = number # fraction of 5xx responses
    latency_p95_ms       = number
    dead_letter_messages = number
    stuck_requeues       = number
    guard_refusals       = number # per 10 minutes
    webhook_failures     = number # per 10 minutes
  })
  default = {
    error_rate           = 0.05
    latency_p95_ms       = 2000
    dead_letter_messages = 0
    stuck_requeues       = 3
    guard_refusals       = 20
    webhook_failures     = 10
  }
}

variable "slo" {
  type = object({
    availability_goal = number
    latency_goal      = number
    latency_ms        = number
  })
  default = {
    availability_goal = 0.995
    latency_goal      = 0.95
    latency_ms        = 1000
  }
}

variable "labels" {
  type    = map(string)
  default = {}
}

# --- Network security (ingress.tf, perimeter.tf, network.tf; docs/deploy.md "Network security") ---

variable "api_exposure" {
  type        = string
  description = "How the API is reached: iap = external HTTPS load balancer with IAP and Cloud Armor (ingress ALLOW_INTERNAL_AND_GCLB); internal = VPC-internal only, no load balancer (ingress ALLOW_INTERNAL_ONLY)."
  validation {
    condition     = contains(["iap", "internal"], var.api_exposure)
    error_message = "api_exposure must be iap or internal (the API is never exposed with ingress ALLOW_ALL)."
  }
}

variable "api_domain" {
  type        = string
  description = "DNS name of the API on the load balancer (Google-managed certificate); required when api_exposure = iap. Point an A record at the api_ip output."
  default     = ""
}

variable "cloud_armor" {
  description = "Cloud Armor policy on the API's backend service (only with api_exposure = iap)."
  type = object({
    waf_mode              = string # preview: matches are logged, not blocked; enforce: matches get 403
    waf_sensitivity       = optional(number, 1)
    rate_limit_count      = number # requests per client IP per interval before the ban
    rate_limit_interval   = number # seconds
    ban_duration_sec      = number
    allowed_source_ranges = optional(list(string), []) # empty: any source (IAP authenticates); else only these CIDRs (max 5)
    verbose_logs          = optional(bool, false)
  })
  validation {
    condition     = contains(["preview", "enforce"], var.cloud_armor.waf_mode)
    error_message = "cloud_armor.waf_mode must be preview or enforce."
  }
  validation {
    condition     = var.cloud_armor.waf_sensitivity >= 1 && var.cloud_armor.waf_sensitivity <= 4
    error_message = "cloud_armor.waf_sensitivity must be 1 to 4 (0 would disable every signature)."
  }
  validation {
    condition     = var.cloud_armor.rate_limit_count > 0 && var.cloud_armor.rate_limit_interval > 0 && var.cloud_armor.ban_duration_sec > 0
    error_message = "The per-client rate limit needs a positive count, interval and ban duration."
  }
  validation {
    condition     = length(var.cloud_armor.allowed_source_ranges) <= 5 && alltrue([for r in var.cloud_armor.allowed_source_ranges : can(cidrhost(r, 0))])
    error_message = "allowed_source_ranges takes at most 5 CIDRs (one Cloud Armor expression); leave it empty to allow any source."
  }
}

variable "vpc_service_controls" {
  description = "Service perimeter around this environment's data services (and the warehouse project)."
  type = object({
    access_policy      = string       # numeric id of the organization's access policy (gcloud access-context-manager policies list)
    mode               = string       # enforced | dry_run
    ingress_identities = list(string) # operators (group:/user:/serviceAccount:) allowed in from outside; the deployer is always added
    access_levels      = optional(list(string), [])
  })
  validation {
    condition     = contains(["enforced", "dry_run"], var.vpc_service_controls.mode)
    error_message = "vpc_service_controls.mode must be enforced or dry_run."
  }
  validation {
    condition     = can(regex("^[0-9]+$", var.vpc_service_controls.access_policy))
    error_message = "vpc_service_controls.access_policy is the numeric id of the organization's access policy."
  }
  validation {
    condition     = alltrue([for m in var.vpc_service_controls.ingress_identities : can(regex("^(group|user|serviceAccount):", m))])
    error_message = "Perimeter ingress identities are group:, user: or serviceAccount: members."
  }
}

variable "egress" {
  description = "Fixed egress of the functions that call outside receivers (webhooks): Serverless VPC Access connector + Cloud NAT with one reserved IP."
  type = object({
    connector_cidr = string # a free /28 of the egress VPC
    min_instances  = optional(number, 2)
    max_instances  = optional(number, 3)
    machine_type   = optional(string, "e2-micro")
  })
  validation {
    condition     = can(cidrhost(var.egress.connector_cidr, 0)) && endswith(var.egress.connector_cidr, "/28")
    error_message = "egress.connector_cidr must be a /28 (Serverless VPC Access requirement)."
  }
}
