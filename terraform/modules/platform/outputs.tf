output "function_urls" {
  description = "Cloud Run URL of each deployed function."
  value       = { for name, f in google_cloudfunctions2_function.function : name => f.service_config[0].uri }
}

output "function_services" {
  description = "Cloud Run service behind each deployed function (used by the rollout scripts)."
  value       = { for name, f in google_cloudfunctions2_function.function : name => f.name }
}

output "service_accounts" {
  value = { for name, sa in google_service_account.function : name => sa.email }
}

output "api_audience" {
  value = local.api_audience
}

output "kek" {
  value = google_kms_crypto_key.kek.id
}

output "audit_bucket" {
  value = google_logging_project_bucket_config.audit.id
}
