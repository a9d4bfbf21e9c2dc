# The Pub/Sub subscriptions that feed the event functions, one per topic a function consumes.
# Each pushes to the function's URL with an OIDC token of the function's push account (which may
# only invoke it), waits at least the function's timeout for an answer, retries with backoff and
# finally moves the message to the dead-letter topic. Terraform owns every setting: Eventarc's
# subscriptions kept a 10 s ack deadline and had no dead-letter policy Terraform could set
# (hashicorp/terraform-provider-google#17701). README.md, "Subscriptions", says what was checked
# in Google's documentation.
#
# The numbers come from delivery.json, the one declaration the local stack reads too (its push
# stand-in delivers with the same ack deadline, backoff and attempts). drift_test.go checks that
# every topic a function consumes has exactly one subscription here, with those settings.

locals {
  delivery = jsondecode(file("${path.module}/delivery.json"))
}

# Pub/Sub posts the push envelope ({"message": …, "subscription": …}) to the endpoint. The Go
# functions framework turns it into a Pub/Sub CloudEvent, reading the topic from the request path
# only, so the path is the topic's full name (projects/P/topics/T), as the local stack does. The
# endpoint is the Cloud Run URL (run.app) of the function, which internal ingress and VPC Service
# Controls accept for Pub/Sub push; the token's audience is that same URL, which Cloud Run checks.
resource "google_pubsub_subscription" "document_events" {
  name                 = "drivesync-document-events"
  topic                = local.document_events_topic
  ack_deadline_seconds = local.delivery.subscriptions["document-events"].ack_deadline_seconds

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.sync_document.service_config[0].uri}/${local.document_events_topic}"
    oidc_token {
      service_account_email = google_service_account.sync_document_trigger.email
      audience              = google_cloudfunctions2_function.sync_document.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${local.delivery.subscriptions["document-events"].min_backoff_seconds}s"
    maximum_backoff = "${local.delivery.subscriptions["document-events"].max_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.delivery.subscriptions["document-events"].max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never expires, even when no event arrives for a month
  }
}

resource "google_pubsub_subscription" "copy_tasks" {
  name                 = "drivesync-copy-tasks"
  topic                = google_pubsub_topic.copy_tasks.id
  ack_deadline_seconds = local.delivery.subscriptions["copy-tasks"].ack_deadline_seconds

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.sync_document.service_config[0].uri}/${google_pubsub_topic.copy_tasks.id}"
    oidc_token {
      service_account_email = google_service_account.sync_document_trigger.email
      audience              = google_cloudfunctions2_function.sync_document.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${local.delivery.subscriptions["copy-tasks"].min_backoff_seconds}s"
    maximum_backoff = "${local.delivery.subscriptions["copy-tasks"].max_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.delivery.subscriptions["copy-tasks"].max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "copy_requests" {
  name                 = "drivesync-copy-requests"
  topic                = google_pubsub_topic.copy_requests.id
  ack_deadline_seconds = local.delivery.subscriptions["copy-requests"].ack_deadline_seconds

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.initial_copy.service_config[0].uri}/${google_pubsub_topic.copy_requests.id}"
    oidc_token {
      service_account_email = google_service_account.initial_copy_trigger.email
      audience              = google_cloudfunctions2_function.initial_copy.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${local.delivery.subscriptions["copy-requests"].min_backoff_seconds}s"
    maximum_backoff = "${local.delivery.subscriptions["copy-requests"].max_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.delivery.subscriptions["copy-requests"].max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering: Pub/Sub's service agent must be able to acknowledge the message on the source
# subscription (subscriber) and to publish it on the dead-letter topic (pubsub.tf).
resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = {
    document_events = google_pubsub_subscription.document_events.id
    copy_tasks      = google_pubsub_subscription.copy_tasks.id
    copy_requests   = google_pubsub_subscription.copy_requests.id
  }
  subscription = each.value
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# Authenticated push: Pub/Sub's service agent mints the OIDC tokens of the push accounts. Google
# grants it this on new projects through its service agent role; projects from before April 2021
# need the grant, and granting it on the two push accounts alone is the narrowest form.
resource "google_service_account_iam_member" "push_token_creator" {
  for_each = {
    sync_document = google_service_account.sync_document_trigger.id
    initial_copy  = google_service_account.initial_copy_trigger.id
  }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# A backlog that keeps ageing means deliveries fail or the functions cannot keep up. Document
# events should reach Drive within a minute (slo.tf), so 15 minutes is an incident; copy tasks
# queue by design during a large initial copy, so only copy requests and document events alert.
resource "google_monitoring_alert_policy" "subscription_backlog" {
  display_name = "drivesync ${var.environment}: deliveries stuck"
  combiner     = "OR"

  conditions {
    display_name = "Oldest unacknowledged message in ${google_pubsub_subscription.document_events.name} older than 15 minutes"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.document_events.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = 900
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  conditions {
    display_name = "Oldest unacknowledged message in ${google_pubsub_subscription.copy_requests.name} older than 15 minutes"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.copy_requests.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = 900
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Messages wait on a drivesync push subscription. Look at the function's logs (refusals, errors) and at the dashboard: a function answering errors is retried with backoff and finally dead-lettered; one that is too slow needs more instances (delivery.json)."
  }

  notification_channels = var.alert_notification_channels
}
