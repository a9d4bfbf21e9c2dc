# Pub/Sub: the topics drivesync is triggered by or publishes to, and where undeliverable messages
# end up. Topic names are fixed by the code (shared/config: TopicDocumentEvents, TopicCopyRequests,
# TopicCopyTasks); drift_test.go keeps the two in step.

# eFactori publishes document events here (docs/efactori-contract.md). When eFactori already
# created the topic in this project, set create_document_events_topic = false; the functions are
# then triggered by that topic, which must have this name.
resource "google_pubsub_topic" "document_events" {
  count = var.create_document_events_topic ? 1 : 0
  name  = "efactori-document-events"
}

locals {
  document_events_topic = var.create_document_events_topic ? google_pubsub_topic.document_events[0].id : "projects/${var.project}/topics/efactori-document-events"
}

resource "google_pubsub_topic_iam_member" "efactori_publishers" {
  for_each = toset(var.efactori_publishers)
  topic    = local.document_events_topic
  role     = "roles/pubsub.publisher"
  member   = each.value
}

# One message per page of a company's initial copy (consumed by InitialCopy).
resource "google_pubsub_topic" "copy_requests" {
  name = "drivesync-copy-requests"
}

# One message per document to copy to one connection (consumed by SyncDocument).
resource "google_pubsub_topic" "copy_tasks" {
  name = "drivesync-copy-tasks"
}

# Dead letters. Every subscription that feeds a function (subscriptions.tf) moves a message here
# after its max_delivery_attempts, with its retry backoff between attempts.
resource "google_pubsub_topic" "dead_letter" {
  name = "drivesync-dead-letter"
}

# Dead letters wait here for a person: inspect with
#   gcloud pubsub subscriptions pull drivesync-dead-letter --limit 10
# and replay by publishing them again to their original topic.
resource "google_pubsub_subscription" "dead_letter" {
  name                       = "drivesync-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s" # the maximum, 7 days
  retain_acked_messages      = false
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = "" # never expires, even when nobody pulls for a long time
  }
}

locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# Pub/Sub forwards dead letters as its own service agent.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}
