# Connections: the HTTP API the eFactori frontend calls from the browser to switch the integration
# on or off and manage a company's Drive connections (entry point config.FunctionConnections).

resource "google_service_account" "connections" {
  account_id   = "drivesync-connections"
  display_name = "drivesync Connections function (${var.environment})"
}

resource "google_cloudfunctions2_function" "connections" {
  name        = "drivesync-connections"
  location    = var.region
  description = "drivesync connection API for the eFactori frontend."

  build_config {
    runtime         = "go126"
    entry_point     = "Connections"
    service_account = google_service_account.builder.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    # Each request is a token check (cached JWKS) and a few Firestore reads or writes: small,
    # I/O-bound work. 256 MiB is ample for a Go binary, and a full vCPU (required for more than
    # one concurrent request per instance) lets one instance serve many requests at once.
    available_memory                 = "256Mi"
    available_cpu                    = "1"
    max_instance_request_concurrency = 40
    # No request legitimately takes more than a few seconds; a short timeout bounds a stuck
    # Firestore call instead of keeping the browser waiting for the default 60 s.
    timeout_seconds = 30
    # Cold starts are short for Go; scale to zero between uses. The cap bounds cost and the
    # Firestore load if the API is hammered (40 × 10 concurrent requests is far above the
    # frontend's needs).
    min_instance_count = 0
    max_instance_count = 10

    # Browsers call this function directly, so it is reachable from the internet (see the
    # allUsers invoker below).
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.connections.email

    # The variables config.Variables declares for Connections; drift_test.go keeps them in step.
    # Connections starts the Google consent (OAuth client, redirect URI, scope) and revokes a
    # connection's token when it is removed, so it also reads the token keyset.
    environment_variables = {
      GOOGLE_CLOUD_PROJECT = var.project # not set by the gen2 runtime, which sets only K_SERVICE, K_REVISION, PORT and FUNCTION_*
      LOG_LEVEL            = var.log_level
      FIRESTORE_DATABASE   = google_firestore_database.main.name
      EFACTORI_ISSUER      = var.efactori_issuer
      EFACTORI_AUDIENCE    = var.efactori_audience
      FRONTEND_ORIGINS     = join(",", var.frontend_origins)
      OAUTH_CLIENT_ID      = var.oauth_client_id
      OAUTH_REDIRECT_URL   = local.oauth_redirect_uri
      DRIVE_SCOPE          = var.drive_scope
      TOKEN_KEK_URI        = local.token_keyset_kek_uri
      # The Google Picker's settings, which the code requires with drive.file and refuses
      # otherwise (an empty value is unset).
      PICKER_APP_ID  = local.picker_app_id
      PICKER_API_KEY = var.drive_scope == "drive.file" ? var.picker_api_key : ""
      # The folders the API creates draw on each Google account's write budget with the copies.
      DRIVE_WRITES_PER_SECOND = local.copy_env.DRIVE_WRITES_PER_SECOND
    }

    # Secrets are read from Secret Manager when an instance starts ("latest": a new version is
    # picked up by new instances; redeploy to switch every instance at once).
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
    # The secrets are resolved at deploy time, so the account must be able to read them first.
    google_secret_manager_secret_iam_member.connections,
  ]
}

# Anyone on the internet may invoke the function: browsers cannot present a Google identity
# token. Every request is instead authenticated by the function itself, which verifies the
# eFactori token (signature against eFactori's JWKS, issuer, audience, expiry) and only acts on
# the company that token names; CORS limits which pages may call it from a browser.
resource "google_cloud_run_service_iam_member" "connections_public" {
  location = google_cloudfunctions2_function.connections.location
  service  = google_cloudfunctions2_function.connections.name # a gen2 function runs as the Cloud Run service of the same name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Least privilege: read and write its Firestore documents and write its logs (Firestore IAM is
# project-wide; the code confines each request to the company its token names), read the two
# secrets it mounts, and decrypt the token keyset with the KEK, nothing else.
resource "google_project_iam_member" "connections" {
  for_each = toset(["roles/datastore.user", "roles/logging.logWriter"])
  project  = var.project
  role     = each.value
  member   = google_service_account.connections.member
}

resource "google_secret_manager_secret_iam_member" "connections" {
  for_each = {
    oauth_client_secret = google_secret_manager_secret.oauth_client_secret.id
    token_keyset        = google_secret_manager_secret.token_keyset.id
  }
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.connections.member
}

resource "google_kms_crypto_key_iam_member" "connections" {
  crypto_key_id = google_kms_crypto_key.token_keyset_kek.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = google_service_account.connections.member
}

locals {
  # The app ID the Google Picker grants picked folders to: the OAuth client's project number.
  picker_app_id = var.drive_scope != "drive.file" ? "" : (var.picker_app_id != "" ? var.picker_app_id : tostring(data.google_project.this.number))
}

# Choosing a target, a resync and a layout change each start a run: a copy request.
resource "google_pubsub_topic_iam_member" "connections_copy_requests" {
  topic  = google_pubsub_topic.copy_requests.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.connections.member
}

# The document history's retries publish copy tasks for SyncDocument (shared/history), on that
# topic only.
resource "google_pubsub_topic_iam_member" "connections_copy_tasks" {
  topic  = google_pubsub_topic.copy_tasks.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.connections.member
}
