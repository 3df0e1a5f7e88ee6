# Read-only warehouse access: dataViewer on the configured datasets only (no project-wide data
# role); jobs run in this project (bigquery.jobUser, see iam.tf).

resource "google_bigquery_dataset_iam_member" "warehouse_reader" {
  for_each = { for g in flatten([
    for name, f in local.functions : [
      for dataset in var.warehouse_datasets : { key = "${name}:${dataset}", function = name, dataset = dataset }
    ] if contains(f.access, "warehouse-read")
  ]) : g.key => g }
  project    = var.warehouse_project
  dataset_id = each.value.dataset
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.function[each.value.function].email}"
}
