# Fixed egress for the functions in local.fixed_egress_functions (webhook deliveries): they send
# ALL their traffic through a Serverless VPC Access connector into a dedicated VPC, where Cloud
# NAT translates it to one reserved external address. Receivers allowlist that one address (the
# webhook_egress_ip output). The VPC holds nothing else, and a firewall rule stops the connector
# from reaching private ranges at all (the webhook SSRF guard in shared/webhooks/ssrf.ts refuses
# them too; this is the network-level second layer).

resource "google_compute_network" "egress" {
  project                 = var.project_id
  name                    = "${var.name_prefix}-egress"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

# Private Google Access: calls to Google APIs (Firestore, Pub/Sub, Secret Manager, ...) from the
# connector stay on Google's network instead of going out through NAT.
resource "google_compute_subnetwork" "connector" {
  project                  = var.project_id
  name                     = "${var.name_prefix}-egress-connector"
  region                   = var.region
  network                  = google_compute_network.egress.id
  ip_cidr_range            = var.egress.connector_cidr
  private_ip_google_access = true
}

resource "google_vpc_access_connector" "egress" {
  project       = var.project_id
  name          = "${var.name_prefix}-egress" # max 25 characters
  region        = var.region
  machine_type  = var.egress.machine_type
  min_instances = var.egress.min_instances
  max_instances = var.egress.max_instances

  subnet {
    name = google_compute_subnetwork.connector.name
  }
}

resource "google_compute_router" "egress" {
  project = var.project_id
  name    = "${var.name_prefix}-egress"
  region  = var.region
  network = google_compute_network.egress.id
}

# The one address receivers allowlist. Never destroyed by Terraform: a new address would break
# every receiver's allowlist.
resource "google_compute_address" "egress" {
  project      = var.project_id
  name         = "${var.name_prefix}-webhook-egress"
  region       = var.region
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
  description  = "Source address of webhook deliveries (allowlisted by receivers)."
  labels       = local.labels

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_compute_router_nat" "egress" {
  project = var.project_id
  name    = "${var.name_prefix}-egress"
  router  = google_compute_router.egress.name
  region  = var.region

  # MANUAL_ONLY: only the reserved address, never an ephemeral one Google picks.
  nat_ip_allocate_option = "MANUAL_ONLY"
  nat_ips                = [google_compute_address.egress.self_link]

  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"
  subnetwork {
    name                    = google_compute_subnetwork.connector.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# Connector VMs carry the tag vpc-connector-<region>-<connector name>; deny them every private
# and link-local destination, so egress can only be the internet (via NAT) or Google APIs.
resource "google_compute_firewall" "egress_no_private" {
  project            = var.project_id
  name               = "${var.name_prefix}-egress-deny-private"
  network            = google_compute_network.egress.id
  direction          = "EGRESS"
  priority           = 900
  target_tags        = ["vpc-connector-${var.region}-${google_vpc_access_connector.egress.name}"]
  destination_ranges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]

  deny {
    protocol = "all"
  }
}
