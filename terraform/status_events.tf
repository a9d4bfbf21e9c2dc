# Status events for eFactori (docs/status-events.md): every change of a connection's status and
# every end of a copy or reconcile run is published on this topic, whose name the code fixes
# (shared/config: TopicStatusEvents). eFactori subscribes from its own project.

resource "google_pubsub_topic" "status_events" {
  name = "drivesync-status-events"
  # A subscriber that was down for a while can seek back: events are few and small.
  message_retention_duration = "604800s" # 7 days
}

# Every function that changes a connection publishes its event, and only those four: the
# connection API (target, resync, deletion, reads that relay a pending event), the OAuth callback
# (consent, re-consent), SyncDocument (a refused grant or a lost target met while copying) and
# InitialCopy (run ends, and the same failures met while reconciling).
resource "google_pubsub_topic_iam_member" "status_events_connections" {
  topic  = google_pubsub_topic.status_events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.connections.member
}

resource "google_pubsub_topic_iam_member" "status_events_oauth_callback" {
  topic  = google_pubsub_topic.status_events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.oauth_callback.member
}

resource "google_pubsub_topic_iam_member" "status_events_sync_document" {
  topic  = google_pubsub_topic.status_events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.sync_document.member
}

resource "google_pubsub_topic_iam_member" "status_events_initial_copy" {
  topic  = google_pubsub_topic.status_events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.initial_copy.member
}

# eFactori's subscriber: attaching a subscription in another project to this topic needs
# pubsub.topics.attachSubscription on the topic, which roles/pubsub.subscriber grants. The
# subscription itself, and the right to pull from it, live in eFactori's project.
resource "google_pubsub_topic_iam_member" "status_events_subscribers" {
  for_each = toset(var.efactori_status_subscribers)
  topic    = google_pubsub_topic.status_events.id
  role     = "roles/pubsub.subscriber"
  member   = each.value
}
