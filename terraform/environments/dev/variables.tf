# Identical in every environment; values come from terraform.tfvars (and, for
# function_artifacts, from the bundle build: dist/functions/artifacts.auto.tfvars.json).

variable "project_id" { type = string }
variable "environment" { type = string }
variable "region" { type = string }
variable "firestore_location" { type = string }
variable "firestore_backup_retention_days" { type = number }

variable "functions" {
  type = map(object({
    min_instances   = number
    max_instances   = number
    memory          = string
    cpu             = optional(string)
    timeout_seconds = number
    concurrency     = number
    ingress         = optional(string, "ALLOW_INTERNAL_ONLY")
  }))
}

variable "artifact_bucket" { type = string }

variable "function_artifacts" {
  type    = map(string)
  default = {}
}

variable "invokers" { type = map(list(string)) }
variable "deployer_service_account" { type = string }
variable "schedules" { type = map(string) }
variable "warehouse_project" { type = string }
variable "warehouse_dataset" { type = string }
variable "warehouse_datasets" { type = list(string) }
variable "warehouse_location" { type = string }
variable "audit_retention_days" { type = number }
variable "lock_audit_bucket" { type = bool }
variable "deletion_protection" { type = bool }
variable "notification_emails" { type = list(string) }

variable "alert_thresholds" {
  type = object({
    error_rate           = number
    latency_p95_ms       = number
    dead_letter_messages = number
    stuck_requeues       = number
    guard_refusals       = number
    webhook_failures     = number
  })
}

variable "log_level" { type = string }
variable "cost_center" { type = string }

# Network security (docs/deploy.md "Network security"); validated by the module.
variable "api_exposure" { type = string }
variable "api_domain" { type = string }

variable "cloud_armor" {
  type = object({
    waf_mode              = string
    waf_sensitivity       = optional(number, 1)
    rate_limit_count      = number
    rate_limit_interval   = number
    ban_duration_sec      = number
    allowed_source_ranges = optional(list(string), [])
    verbose_logs          = optional(bool, false)
  })
}

variable "vpc_service_controls" {
  type = object({
    access_policy      = string
    mode               = string
    ingress_identities = list(string)
    access_levels      = optional(list(string), [])
  })
}

variable "egress" {
  type = object({
    connector_cidr = string
    min_instances  = optional(number, 2)
    max_instances  = optional(number, 3)
    machine_type   = optional(string, "e2-micro")
  })
}
