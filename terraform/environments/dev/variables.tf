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
