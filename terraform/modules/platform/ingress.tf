# API ingress (api_exposure = "iap"): one external HTTPS load balancer in front of the api
# function. The request path is
#   client -> global forwarding rule :443 (TLS, Google-managed certificate, TLS >= 1.2)
#          -> Cloud Armor (WAF, per-client rate limit) -> IAP (Google sign-in + IAM)
#          -> serverless NEG -> the api's Cloud Run service (ingress ALLOW_INTERNAL_AND_GCLB).
# Nothing listens on port 80, and the run.app / cloudfunctions.net URLs refuse internet traffic,
# so this is the only way in. With api_exposure = "internal" none of this exists and the API
# accepts VPC-internal traffic only. docs/deploy.md "Network security" explains each control.

locals {
  # Rules are evaluated by priority and the first match that is not in preview decides; a
  # rate-limit rule's conform action ("allow") also ends evaluation. Hence the order:
  #   100    deny requests from outside allowed_source_ranges (only when that list is set)
  #   1000+  OWASP WAF rule sets (deny 403, or preview = log only)
  #   2000   per-client rate limit over everything that is left (allow or 429 + ban)
  #   max    default allow (IAP still authenticates every request that gets through)
  waf_rule_sets = {
    "sqli-v33-stable"              = 1000
    "xss-v33-stable"               = 1010
    "lfi-v33-stable"               = 1020
    "rfi-v33-stable"               = 1030
    "rce-v33-stable"               = 1040
    "methodenforcement-v33-stable" = 1050
    "scannerdetection-v33-stable"  = 1060
    "protocolattack-v33-stable"    = 1070
    "sessionfixation-v33-stable"   = 1080
    "nodejs-v33-stable"            = 1090 # the API is a Node.js service
  }
  source_allowlist_priority = 100
  rate_limit_priority       = 2000
  default_priority          = 2147483647
  outside_allowlist         = join(" && ", [for r in var.cloud_armor.allowed_source_ranges : "!inIpRange(origin.ip, '${r}')"])
}

resource "google_compute_security_policy" "api" {
  count       = local.api_via_lb ? 1 : 0
  project     = var.project_id
  name        = "${var.name_prefix}-${var.environment}-api"
  description = "API edge policy: source allowlist (optional), OWASP WAF (${var.cloud_armor.waf_mode}), per-client rate limit, default allow."
  type        = "CLOUD_ARMOR"

  # The API takes JSON bodies: parse them so the WAF inspects fields, not one opaque string.
  advanced_options_config {
    json_parsing = "STANDARD"
    log_level    = var.cloud_armor.verbose_logs ? "VERBOSE" : "NORMAL"
  }

  # Optional source allowlist (e.g. the corporate egress ranges).
  dynamic "rule" {
    for_each = length(var.cloud_armor.allowed_source_ranges) > 0 ? [local.outside_allowlist] : []
    content {
      priority    = local.source_allowlist_priority
      action      = "deny(403)"
      description = "Source outside allowed_source_ranges"
      match {
        expr {
          expression = rule.value
        }
      }
    }
  }

  # preview = log the match (enforcedAction/previewSecurityPolicy in the load balancer's request
  # logs) without blocking, so dev/staging show the false positives before prod enforces.
  dynamic "rule" {
    for_each = local.waf_rule_sets
    content {
      priority    = rule.value
      action      = "deny(403)"
      preview     = var.cloud_armor.waf_mode == "preview"
      description = "OWASP CRS 3.3 ${rule.key}"
      match {
        expr {
          expression = "evaluatePreconfiguredWaf('${rule.key}', {'sensitivity': ${var.cloud_armor.waf_sensitivity}})"
        }
      }
    }
  }

  # Per client (source IP): more than rate_limit_count requests in rate_limit_interval seconds
  # gets 429 and a ban for ban_duration_sec. Enforced in every environment (no signatures to
  # tune); set well above the application's own per-user limits (shared/limits).
  rule {
    priority    = local.rate_limit_priority
    action      = "rate_based_ban"
    description = "Per-client rate limit (source IP)"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      enforce_on_key   = "IP"
      conform_action   = "allow"
      exceed_action    = "deny(429)"
      ban_duration_sec = var.cloud_armor.ban_duration_sec
      rate_limit_threshold {
        count        = var.cloud_armor.rate_limit_count
        interval_sec = var.cloud_armor.rate_limit_interval
      }
    }
  }

  rule {
    priority    = local.default_priority
    action      = "allow"
    description = "Default rule"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}

# The function by name (not by reference): the function's TSI_IAP_AUDIENCE is derived from the
# backend service below, so a reference back would be a cycle.
resource "google_compute_region_network_endpoint_group" "api" {
  count                 = local.api_via_lb ? 1 : 0
  project               = var.project_id
  name                  = "${var.name_prefix}-api-neg"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_function {
    function = "${var.name_prefix}-api"
  }
}

resource "google_compute_backend_service" "api" {
  count                 = local.api_via_lb ? 1 : 0
  project               = var.project_id
  name                  = "${var.name_prefix}-api"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.api[0].id

  backend {
    group = google_compute_region_network_endpoint_group.api[0].id
  }

  # Google-managed OAuth client (organization users, browser sign-in); service accounts call
  # through IAP with a signed JWT (docs/deploy.md).
  iap {
    enabled = true
  }

  log_config {
    enable      = true
    sample_rate = 1
  }

  lifecycle {
    precondition {
      condition     = var.api_domain != ""
      error_message = "api_exposure = iap needs api_domain (the DNS name of the API's certificate)."
    }
  }
}

# Smoke tests of a new revision before it gets traffic (scripts/smoke-test.sh, Cloud Build): the
# run.app URL refuses outside requests, so the deployer reaches the revision tagged "candidate"
# through this load balancer, sending the header local.candidate_header. Same Cloud Armor policy,
# its own IAP resource that only the deployer may pass. The tag exists only during a rollout
# (shift-traffic.sh removes it).
locals {
  candidate_header = { name = "x-tsi-revision", value = "candidate" }
}

resource "google_compute_region_network_endpoint_group" "api_candidate" {
  count                 = local.api_via_lb ? 1 : 0
  project               = var.project_id
  name                  = "${var.name_prefix}-api-candidate-neg"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  # A 2nd-gen function is a Cloud Run service of the same name; only Cloud Run NEGs take a tag.
  cloud_run {
    service = "${var.name_prefix}-api"
    tag     = local.candidate_header.value
  }
}

resource "google_compute_backend_service" "api_candidate" {
  count                 = local.api_via_lb ? 1 : 0
  project               = var.project_id
  name                  = "${var.name_prefix}-api-candidate"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.api[0].id

  backend {
    group = google_compute_region_network_endpoint_group.api_candidate[0].id
  }

  iap {
    enabled = true
  }

  log_config {
    enable      = true
    sample_rate = 1
  }
}

resource "google_compute_url_map" "api" {
  count           = local.api_via_lb ? 1 : 0
  project         = var.project_id
  name            = "${var.name_prefix}-api"
  default_service = google_compute_backend_service.api[0].id

  host_rule {
    hosts        = ["*"]
    path_matcher = "api"
  }

  path_matcher {
    name            = "api"
    default_service = google_compute_backend_service.api[0].id

    route_rules {
      priority = 1
      service  = google_compute_backend_service.api_candidate[0].id
      match_rules {
        prefix_match = "/"
        header_matches {
          header_name = local.candidate_header.name
          exact_match = local.candidate_header.value
        }
      }
    }
  }
}

resource "google_compute_managed_ssl_certificate" "api" {
  count   = local.api_via_lb ? 1 : 0
  project = var.project_id
  name    = "${var.name_prefix}-api-cert"

  managed {
    domains = [var.api_domain]
  }
}

resource "google_compute_ssl_policy" "api" {
  count           = local.api_via_lb ? 1 : 0
  project         = var.project_id
  name            = "${var.name_prefix}-api-tls"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "api" {
  count            = local.api_via_lb ? 1 : 0
  project          = var.project_id
  name             = "${var.name_prefix}-api"
  url_map          = google_compute_url_map.api[0].id
  ssl_certificates = [google_compute_managed_ssl_certificate.api[0].id]
  ssl_policy       = google_compute_ssl_policy.api[0].id
}

resource "google_compute_global_address" "api" {
  count   = local.api_via_lb ? 1 : 0
  project = var.project_id
  name    = "${var.name_prefix}-api"
}

resource "google_compute_global_forwarding_rule" "api" {
  count                 = local.api_via_lb ? 1 : 0
  project               = var.project_id
  name                  = "${var.name_prefix}-api-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  port_range            = "443"
  ip_address            = google_compute_global_address.api[0].id
  target                = google_compute_target_https_proxy.api[0].id
}

# Who may pass IAP: the API's invokers of this environment (groups and service accounts only,
# see var.invokers), nobody else.
resource "google_iap_web_backend_service_iam_member" "api_accessor" {
  for_each            = local.api_via_lb ? toset(lookup(var.invokers, "api", [])) : toset([])
  project             = var.project_id
  web_backend_service = google_compute_backend_service.api[0].name
  role                = "roles/iap.httpsResourceAccessor"
  member              = each.value
}

# IAP invokes the Cloud Run service as its service agent (created by
# `gcloud beta services identity create --service=iap.googleapis.com`, docs/deploy.md).
resource "google_cloud_run_v2_service_iam_member" "iap_invoker" {
  count    = local.api_via_lb && contains(keys(local.active), "api") ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function["api"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-iap.iam.gserviceaccount.com"
}

# The candidate route admits the deployer only; it signs its own IAP JWT (service-account JWT,
# audience https://<api_domain>/*), which needs signJwt on itself.
resource "google_iap_web_backend_service_iam_member" "api_candidate_deployer" {
  count               = local.api_via_lb ? 1 : 0
  project             = var.project_id
  web_backend_service = google_compute_backend_service.api_candidate[0].name
  role                = "roles/iap.httpsResourceAccessor"
  member              = "serviceAccount:${var.deployer_service_account}"
}

resource "google_service_account_iam_member" "deployer_signs_jwt" {
  count              = local.api_via_lb ? 1 : 0
  service_account_id = "projects/${var.project_id}/serviceAccounts/${var.deployer_service_account}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${var.deployer_service_account}"
}
