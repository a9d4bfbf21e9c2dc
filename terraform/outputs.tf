output "connections_url" {
  description = "URL of the Connections API, for the eFactori frontend's configuration."
  value       = google_cloudfunctions2_function.connections.url
}

locals {
  # A gen2 function answers at https://REGION-PROJECT.cloudfunctions.net/NAME, so the redirect URI
  # is known before the function exists: it can be registered on the OAuth client first, and
  # both functions can be given it (oauth_callback.tf checks it after apply).
  oauth_callback_function_name = "drivesync-oauth-callback"
  oauth_redirect_uri           = "https://${var.region}-${var.project}.cloudfunctions.net/${local.oauth_callback_function_name}"
}

output "oauth_callback_url" {
  description = "URL of the OAuthCallback function, as Google reports it; equals oauth_redirect_uri."
  value       = google_cloudfunctions2_function.oauth_callback.url
}

output "oauth_redirect_uri" {
  description = "Authorized redirect URI to register on the OAuth client in the Google Cloud console (APIs & Services > Credentials)."
  value       = local.oauth_redirect_uri
}

output "topics" {
  description = "Pub/Sub topics, by role."
  value = {
    document_events = local.document_events_topic
    copy_requests   = google_pubsub_topic.copy_requests.id
    copy_tasks      = google_pubsub_topic.copy_tasks.id
    dead_letter     = google_pubsub_topic.dead_letter.id
    status_events   = google_pubsub_topic.status_events.id
  }
}

output "dead_letter_subscription" {
  description = "Subscription holding undeliverable messages."
  value       = google_pubsub_subscription.dead_letter.id
}

output "token_keyset_kek_uri" {
  description = "Tink URI of the KMS key that encrypts the token keyset, for tinkey --master-key-uri."
  value       = local.token_keyset_kek_uri
}

output "secrets" {
  description = "Secret Manager secrets whose versions the operator adds by hand."
  value = {
    oauth_client_secret = google_secret_manager_secret.oauth_client_secret.id
    token_keyset        = google_secret_manager_secret.token_keyset.id
  }
}

output "push_subscriptions" {
  description = "The push subscriptions that feed the event functions (subscriptions.tf), by role."
  value = {
    document_events = google_pubsub_subscription.document_events.id
    copy_tasks      = google_pubsub_subscription.copy_tasks.id
    copy_requests   = google_pubsub_subscription.copy_requests.id
  }
}
