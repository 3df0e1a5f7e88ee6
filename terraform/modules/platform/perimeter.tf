# VPC Service Controls: one regular service perimeter around this environment's project and its
# warehouse project. Requests to the restricted services below are refused unless they come from
# inside the perimeter (the functions), from an access level, or from an identity listed in the
# ingress policy (the deployer and the operators of var.vpc_service_controls.ingress_identities).
# A stolen credential then cannot read Firestore, BigQuery, secrets, keys, backups or the audit
# log from outside, and nothing inside can copy data to a project outside the perimeter.
#
# mode = "enforced" (prod): the configuration is the perimeter's status.
# mode = "dry_run" (dev, staging): the same configuration is only the dry-run spec; violations are
# logged (docs/deploy.md shows the query) but nothing is blocked. Staging's dry-run log must be
# clean before a change reaches prod, where it is enforced.

locals {
  perimeter_enforced = var.vpc_service_controls.mode == "enforced"
  perimeter = {
    resources = distinct([
      "projects/${data.google_project.this.number}",
      "projects/${data.google_project.warehouse.number}",
    ])
    restricted_services = [
      "firestore.googleapis.com",
      "bigquery.googleapis.com",
      "secretmanager.googleapis.com",
      "cloudkms.googleapis.com",
      "storage.googleapis.com",
      "logging.googleapis.com", # the audit trail
      "pubsub.googleapis.com",  # events carry investigation data
    ]
    access_levels      = var.vpc_service_controls.access_levels
    ingress_identities = distinct(concat(["serviceAccount:${var.deployer_service_account}"], var.vpc_service_controls.ingress_identities))
    # Function builds run outside the perimeter (Cloud Build) and read their source bundle from the
    # artifact bucket: Storage only, for the identities that build 2nd-gen functions (the Compute
    # default account in current projects, the legacy Cloud Build account in older ones, and the
    # Cloud Functions service agent).
    build_identities = [
      "serviceAccount:${data.google_project.this.number}-compute@developer.gserviceaccount.com",
      "serviceAccount:${data.google_project.this.number}@cloudbuild.gserviceaccount.com",
      "serviceAccount:service-${data.google_project.this.number}@gcf-admin-robot.iam.gserviceaccount.com",
    ]
  }
}

data "google_project" "warehouse" {
  project_id = var.warehouse_project
}

resource "google_access_context_manager_service_perimeter" "data" {
  parent         = "accessPolicies/${var.vpc_service_controls.access_policy}"
  name           = "accessPolicies/${var.vpc_service_controls.access_policy}/servicePerimeters/${replace(var.name_prefix, "-", "_")}_${var.environment}"
  title          = "${var.name_prefix}-${var.environment}"
  description    = "Data services of ${var.name_prefix} ${var.environment} (${var.vpc_service_controls.mode})."
  perimeter_type = "PERIMETER_TYPE_REGULAR"

  # Dry run: no enforced status, the configuration only as the explicit dry-run spec.
  use_explicit_dry_run_spec = !local.perimeter_enforced

  # The two blocks below are the same configuration (a policy test checks it); only one exists.
  dynamic "status" {
    for_each = local.perimeter_enforced ? [local.perimeter] : []
    content {
      resources           = status.value.resources
      restricted_services = status.value.restricted_services
      access_levels       = status.value.access_levels

      ingress_policies {
        ingress_from {
          identities = status.value.ingress_identities
          sources {
            access_level = "*"
          }
        }
        ingress_to {
          resources = ["*"]
          operations {
            service_name = "*"
          }
        }
      }

      ingress_policies {
        ingress_from {
          identities = status.value.build_identities
          sources {
            access_level = "*"
          }
        }
        ingress_to {
          resources = ["projects/${data.google_project.this.number}"]
          operations {
            service_name = "storage.googleapis.com"
            method_selectors {
              method = "*"
            }
          }
        }
      }
    }
  }

  dynamic "spec" {
    for_each = local.perimeter_enforced ? [] : [local.perimeter]
    content {
      resources           = spec.value.resources
      restricted_services = spec.value.restricted_services
      access_levels       = spec.value.access_levels

      ingress_policies {
        ingress_from {
          identities = spec.value.ingress_identities
          sources {
            access_level = "*"
          }
        }
        ingress_to {
          resources = ["*"]
          operations {
            service_name = "*"
          }
        }
      }

      ingress_policies {
        ingress_from {
          identities = spec.value.build_identities
          sources {
            access_level = "*"
          }
        }
        ingress_to {
          resources = ["projects/${data.google_project.this.number}"]
          operations {
            service_name = "storage.googleapis.com"
            method_selectors {
              method = "*"
            }
          }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.environment != "prod" || local.perimeter_enforced
      error_message = "The prod perimeter must be enforced (vpc_service_controls.mode = \"enforced\")."
    }
  }
}
