# Scheduled reconcile: daily by default (var.reconcile_schedule), Cloud Scheduler publishes the
# copy request that asks InitialCopy to start a reconcile run of every active connection of every
# company whose integration is on (shared/drivesync CopyRequest.Scheduled). The request names no
# company, connection or run; InitialCopy lists the active connections (the connections.status
# collection-group index, firestore.tf) and starts a run for each, leaving a connection whose run
# is still going on to that run. README.md, "Scheduled reconcile".

resource "google_cloud_scheduler_job" "reconcile" {
  name        = "drivesync-reconcile"
  region      = var.region
  description = "drivesync: starts a reconcile run of every active connection."
  schedule    = var.reconcile_schedule
  time_zone   = var.reconcile_time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.copy_requests.id
    # Exactly the JSON DecodeCopyRequest reads as a scheduled request; drift_test.go decodes it.
    data = base64encode(jsonencode({ schemaVersion = 1, scheduled = true }))
  }

  # A Pub/Sub target's attempt is the publish itself (attempt_deadline does not apply to it):
  # retry a failed publish a few times with backoff. Once published, the copy-requests
  # subscription's retry and dead-letter policy take over (subscriptions.tf).
  retry_config {
    retry_count          = 5
    min_backoff_duration = "10s"
    max_backoff_duration = "300s"
    max_doublings        = 3
  }

  depends_on = [google_pubsub_topic_iam_member.scheduler_publisher]
}

locals {
  # Cloud Scheduler publishes a Pub/Sub target's messages as its service agent.
  scheduler_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
}

# The service agent's own role (roles/cloudscheduler.serviceAgent, which Google grants it on the
# project) already holds pubsub.topics.publish; this grant on the one topic the job publishes to
# states the dependency here and keeps the job working if that role was trimmed (README.md).
resource "google_pubsub_topic_iam_member" "scheduler_publisher" {
  topic  = google_pubsub_topic.copy_requests.id
  role   = "roles/pubsub.publisher"
  member = local.scheduler_service_agent
}
