# OAuthCallback: the redirect URI Google's consent screen sends the browser back to. It exchanges
# the code for tokens, stores the encrypted refresh token and sends the browser back to eFactori
# (entry point config.FunctionOAuthCallback).

resource "google_service_account" "oauth_callback" {
  account_id   = "drivesync-oauth-callback"
  display_name = "drivesync OAuthCallback function (${var.environment})"
}

resource "google_cloudfunctions2_function" "oauth_callback" {
  # The redirect URI registered on the OAuth client is built from this name (outputs.tf).
  name        = local.oauth_callback_function_name
  location    = var.region
  description = "drivesync OAuth redirect URI: finishes a Google Drive connection."

  build_config {
    runtime         = "go126"
    entry_point     = "OAuthCallback"
    service_account = google_service_account.builder.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    # One request per user consent: a code exchange with Google, a KMS-free local encryption
    # (the keyset is decrypted once per instance) and a few Firestore writes. Traffic is low and
    # bursty at most, so a small cap suffices; a full vCPU allows concurrent requests.
    available_memory                 = "256Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 20
    # The code exchange usually answers in well under a second; 30 s bounds a stuck call while
    # the user waits in the browser.
    timeout_seconds    = 30
    min_instance_count = 0
    max_instance_count = 5

    # Google redirects the user's browser here, so it is reachable from the internet (see the
    # allUsers invoker below).
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.oauth_callback.email

    # The variables config.Variables declares for OAuthCallback; drift_test.go keeps them in step.
    environment_variables = {
      GOOGLE_CLOUD_PROJECT = var.project # not set by the gen2 runtime
      LOG_LEVEL            = var.log_level
      FIRESTORE_DATABASE   = google_firestore_database.main.name
      FRONTEND_URL         = var.frontend_url
      OAUTH_CLIENT_ID      = var.oauth_client_id
      OAUTH_REDIRECT_URL   = local.oauth_redirect_uri
      DRIVE_SCOPE          = var.drive_scope
      TOKEN_KEK_URI        = local.token_keyset_kek_uri
    }

    secret_environment_variables {
      key        = "OAUTH_CLIENT_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.oauth_client_secret.secret_id
      version    = "latest"
    }
    secret_environment_variables {
      key        = "TOKEN_KEYSET"
      project_id = var.project
      secret     = google_secret_manager_secret.token_keyset.secret_id
      version    = "latest"
    }
  }

  depends_on = [
    google_project_iam_member.builder,
    google_secret_manager_secret_iam_member.oauth_callback,
  ]
}

# The redirect URI the functions and the OAuth client use is computed before the function exists
# (both functions need it, and OAuthCallback cannot read its own URL); warn if Google ever
# serves the function elsewhere.
check "oauth_redirect_uri" {
  assert {
    condition     = google_cloudfunctions2_function.oauth_callback.url == local.oauth_redirect_uri
    error_message = "OAuthCallback is served at ${google_cloudfunctions2_function.oauth_callback.url}, not at the OAUTH_REDIRECT_URL ${local.oauth_redirect_uri}: fix local.oauth_redirect_uri and the OAuth client."
  }
}

# Anyone on the internet may invoke the function: it is the target of a browser redirect from
# Google, which carries no Google identity token. The function itself only acts on a request
# whose state matches a single-use, expiring OAuth state it stored (with the PKCE verifier),
# so a forged or replayed callback changes nothing.
resource "google_cloud_run_service_iam_member" "oauth_callback_public" {
  location = google_cloudfunctions2_function.oauth_callback.location
  service  = google_cloudfunctions2_function.oauth_callback.name # a gen2 function runs as the Cloud Run service of the same name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Least privilege: Firestore (connections, OAuth states), logs, the two secrets it mounts, and
# decryption of the token keyset with the KEK.
resource "google_project_iam_member" "oauth_callback" {
  for_each = toset(["roles/datastore.user", "roles/logging.logWriter"])
  project  = var.project
  role     = each.value
  member   = google_service_account.oauth_callback.member
}

resource "google_secret_manager_secret_iam_member" "oauth_callback" {
  for_each = {
    oauth_client_secret = google_secret_manager_secret.oauth_client_secret.id
    token_keyset        = google_secret_manager_secret.token_keyset.id
  }
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.oauth_callback.member
}

resource "google_kms_crypto_key_iam_member" "oauth_callback" {
  crypto_key_id = google_kms_crypto_key.token_keyset_kek.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = google_service_account.oauth_callback.member
}

# A re-consent starts a run (a reconcile): a copy request.
resource "google_pubsub_topic_iam_member" "oauth_callback_copy_requests" {
  topic  = google_pubsub_topic.copy_requests.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.oauth_callback.member
}
