# Plans the deployment with mocked providers and checks who may use the status-event topic
# (status_events.tf): the four functions publish, eFactori's listed members may attach a
# subscription, nobody else holds a role on it, and it is never opened to everyone.

mock_provider "google" {
  override_during = plan

  override_data {
    target = data.google_project.this
    values = { number = "123456789012" }
  }
  override_resource {
    target = google_service_account.connections
    values = { member = "serviceAccount:drivesync-connections@drivesync-test.iam.gserviceaccount.com" }
  }
  override_resource {
    target = google_service_account.oauth_callback
    values = { member = "serviceAccount:drivesync-oauth-callback@drivesync-test.iam.gserviceaccount.com" }
  }
  override_resource {
    target = google_service_account.sync_document
    values = { member = "serviceAccount:drivesync-sync-document@drivesync-test.iam.gserviceaccount.com" }
  }
  override_resource {
    target = google_service_account.initial_copy
    values = { member = "serviceAccount:drivesync-initial-copy@drivesync-test.iam.gserviceaccount.com" }
  }
  override_resource {
    target = google_pubsub_topic.status_events
    values = { id = "projects/drivesync-test/topics/drivesync-status-events" }
  }
  override_resource {
    target = google_cloudfunctions2_function.oauth_callback
    values = { url = "https://europe-west1-drivesync-test.cloudfunctions.net/drivesync-oauth-callback" }
  }
}

mock_provider "archive" {}

variables {
  project           = "drivesync-test"
  environment       = "test"
  frontend_origins  = ["https://app.efactori.example"]
  frontend_url      = "https://app.efactori.example/settings/google-drive"
  efactori_issuer   = "https://login.efactori.example"
  efactori_audience = "drivesync"
  efactori_api_url  = "https://api.efactori.example"
  oauth_client_id   = "123456789012-abc.apps.googleusercontent.com"
  efactori_status_subscribers = [
    "serviceAccount:status@efactori-test.iam.gserviceaccount.com",
  ]
}

run "publishers_and_subscribers" {
  command = plan

  assert {
    condition     = google_pubsub_topic.status_events.name == "drivesync-status-events"
    error_message = "The topic must have the name shared/config.TopicStatusEvents gives."
  }

  assert {
    condition = toset([
      for g in [
        google_pubsub_topic_iam_member.status_events_connections,
        google_pubsub_topic_iam_member.status_events_oauth_callback,
        google_pubsub_topic_iam_member.status_events_sync_document,
        google_pubsub_topic_iam_member.status_events_initial_copy,
      ] : "${g.topic} ${g.role} ${g.member}"
      ]) == toset([
      "projects/drivesync-test/topics/drivesync-status-events roles/pubsub.publisher serviceAccount:drivesync-connections@drivesync-test.iam.gserviceaccount.com",
      "projects/drivesync-test/topics/drivesync-status-events roles/pubsub.publisher serviceAccount:drivesync-oauth-callback@drivesync-test.iam.gserviceaccount.com",
      "projects/drivesync-test/topics/drivesync-status-events roles/pubsub.publisher serviceAccount:drivesync-sync-document@drivesync-test.iam.gserviceaccount.com",
      "projects/drivesync-test/topics/drivesync-status-events roles/pubsub.publisher serviceAccount:drivesync-initial-copy@drivesync-test.iam.gserviceaccount.com",
    ])
    error_message = "Exactly the four functions' service accounts publish status events."
  }

  assert {
    condition = {
      for k, g in google_pubsub_topic_iam_member.status_events_subscribers : k => "${g.topic} ${g.role} ${g.member}"
      } == {
      "serviceAccount:status@efactori-test.iam.gserviceaccount.com" = "projects/drivesync-test/topics/drivesync-status-events roles/pubsub.subscriber serviceAccount:status@efactori-test.iam.gserviceaccount.com"
    }
    error_message = "eFactori's listed subscribers, and only they, may attach a subscription to the topic."
  }

  assert {
    condition     = output.topics.status_events == "projects/drivesync-test/topics/drivesync-status-events"
    error_message = "The topics output must name the status-event topic."
  }
}

run "no_subscriber_by_default" {
  command = plan

  variables {
    efactori_status_subscribers = []
  }

  assert {
    condition     = length(google_pubsub_topic_iam_member.status_events_subscribers) == 0
    error_message = "Nobody may subscribe unless listed."
  }
}

run "status_events_are_not_public" {
  command = plan

  variables {
    efactori_status_subscribers = ["allAuthenticatedUsers"]
  }

  expect_failures = [var.efactori_status_subscribers]
}
