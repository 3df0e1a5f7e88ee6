# Identical in every environment (tests/infra/terraform.test.ts checks it): environments differ
# only in terraform.tfvars and backend.hcl.
terraform {
  required_version = ">= 1.6.0"

  # Partial configuration: `terraform init -backend-config=backend.hcl` (or the bucket from the
  # Cloud Build substitution _TF_STATE_BUCKET).
  backend "gcs" {}

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.10.0, < 8.0.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

module "platform" {
  source = "../../modules/platform"

  project_id                      = var.project_id
  environment                     = var.environment
  region                          = var.region
  firestore_location              = var.firestore_location
  firestore_backup_retention_days = var.firestore_backup_retention_days
  functions                       = var.functions
  artifact_bucket                 = var.artifact_bucket
  function_artifacts              = var.function_artifacts
  invokers                        = var.invokers
  deployer_service_account        = var.deployer_service_account
  schedules                       = var.schedules
  warehouse_project               = var.warehouse_project
  warehouse_dataset               = var.warehouse_dataset
  warehouse_datasets              = var.warehouse_datasets
  warehouse_location              = var.warehouse_location
  audit_retention_days            = var.audit_retention_days
  lock_audit_bucket               = var.lock_audit_bucket
  deletion_protection             = var.deletion_protection
  notification_emails             = var.notification_emails
  alert_thresholds                = var.alert_thresholds
  log_level                       = var.log_level
  api_exposure                    = var.api_exposure
  api_domain                      = var.api_domain
  cloud_armor                     = var.cloud_armor
  vpc_service_controls            = var.vpc_service_controls
  egress                          = var.egress
  labels                          = { cost_center = var.cost_center }
}

output "function_urls" {
  value = module.platform.function_urls
}

output "function_services" {
  value = module.platform.function_services
}

output "api_audience" {
  value = module.platform.api_audience
}

output "api_url" {
  value = module.platform.api_url
}

output "api_ip" {
  value = module.platform.api_ip
}

output "webhook_egress_ip" {
  value = module.platform.webhook_egress_ip
}

output "service_perimeter" {
  value = module.platform.service_perimeter
}
