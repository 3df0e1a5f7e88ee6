# Topics from the manifest; one push subscription per event function, with retry policy and a
# dead-letter topic (kept readable by a pull subscription for inspection and replay).

resource "google_pubsub_topic" "topic" {
  for_each                   = local.manifest.topics
  project                    = var.project_id
  name                       = each.value.name
  labels                     = local.labels
  message_retention_duration = "604800s"
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = { for name, f in local.functions : name => f if contains(f.access, "events-publish") }
  project  = var.project_id
  topic    = google_pubsub_topic.topic["events"].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Readiness checks read the topic's metadata.
resource "google_pubsub_topic_iam_member" "viewer" {
  for_each = { for name, f in local.functions : name => f if contains(f.access, "events-publish") }
  project  = var.project_id
  topic    = google_pubsub_topic.topic["events"].name
  role     = "roles/pubsub.viewer"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_pubsub_topic" "dead_letter" {
  for_each                   = local.events
  project                    = var.project_id
  name                       = "${var.name_prefix}-${each.key}-dead-letter"
  labels                     = merge(local.labels, { function = each.key })
  message_retention_duration = "604800s"
}

resource "google_pubsub_subscription" "dead_letter" {
  for_each                   = local.events
  project                    = var.project_id
  name                       = "${var.name_prefix}-${each.key}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  labels                     = merge(local.labels, { function = each.key })
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = true
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "push" {
  for_each                   = { for name, f in local.events : name => f if f.status == "active" }
  project                    = var.project_id
  name                       = "${var.name_prefix}-${each.key}"
  topic                      = google_pubsub_topic.topic[each.value.trigger.topic].id
  labels                     = merge(local.labels, { function = each.key })
  filter                     = try(each.value.trigger.filter, join(" OR ", [for n in each.value.trigger.event_names : "attributes.type = \"${n}\""]))
  ack_deadline_seconds       = min(600, var.functions[each.key].timeout_seconds)
  message_retention_duration = "604800s"

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  push_config {
    # The topic path lets the Functions Framework turn the push into the same messagePublished
    # CloudEvent the local bus delivers.
    push_endpoint = "${google_cloudfunctions2_function.function[each.key].service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.topic[each.value.trigger.topic].name}"
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.function[each.key].service_config[0].uri
    }
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push_invoker]
}

# Dead-lettering needs the Pub/Sub service agent to publish to the dead-letter topic and to
# acknowledge on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.events
  project  = var.project_id
  topic    = google_pubsub_topic.dead_letter[each.key].name
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = google_pubsub_subscription.push
  project      = var.project_id
  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
