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

output "api_url" {
  description = "The API's only public entry point (HTTPS load balancer with IAP); null when api_exposure = internal."
  value       = local.api_via_lb ? "https://${var.api_domain}" : null
}

output "api_ip" {
  description = "Address of the API's load balancer: point the A record of api_domain here."
  value       = local.api_via_lb ? google_compute_global_address.api[0].address : null
}

output "webhook_egress_ip" {
  description = "The one source address of webhook deliveries (Cloud NAT); receivers allowlist it."
  value       = google_compute_address.egress.address
}

output "service_perimeter" {
  description = "VPC Service Controls perimeter of this environment and whether it is enforced or dry-run."
  value       = { name = google_access_context_manager_service_perimeter.data.name, mode = var.vpc_service_controls.mode }
}
