# SyncDocument: copies eFactori documents into the customers' Drives (entry point
# config.FunctionSyncDocument). One function handles two topics: eFactori's document events and
# drivesync's copy tasks, each delivered by a push subscription of its own (subscriptions.tf).
# One deployment keeps one service account and one set of instances for both. The function has
# no event_trigger: Eventarc would create subscriptions Terraform cannot configure (a 10 s ack
# deadline, no dead-letter policy), so it is an HTTP-triggered gen2 function that Pub/Sub pushes
# to, and the functions framework turns each push into the CloudEvent the entry point takes.

resource "google_service_account" "sync_document" {
  account_id   = "drivesync-sync-document"
  display_name = "drivesync SyncDocument function (${var.environment})"
}

# The identity Pub/Sub pushes with (the OIDC token of subscriptions.tf); it may only invoke the
# function. The resource keeps its Eventarc-era name so that the account is not replaced.
resource "google_service_account" "sync_document_trigger" {
  account_id   = "drivesync-sync-document-trig"
  display_name = "drivesync SyncDocument push (${var.environment})"
}

resource "google_cloudfunctions2_function" "sync_document" {
  name        = "drivesync-sync-document"
  location    = var.region
  description = "drivesync: applies eFactori document events and initial-copy tasks to Google Drive."

  build_config {
    runtime         = "go126"
    entry_point     = "SyncDocument"
    service_account = google_service_account.builder.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    # A delivery streams one document from eFactori to Drive: content is never held whole, but
    # a resumable upload buffers one 8 MiB chunk so a failed chunk can be re-sent. With 8
    # deliveries at once that is 64 MiB of chunk buffers, plus the HTTP/TLS buffers of both
    # sides and the Go runtime; 512 MiB leaves room for the garbage collector to lag behind.
    available_memory = "512Mi"
    available_cpu    = "1"
    # Instances, concurrency and timeout come from delivery.json, which the local stack reads
    # too, so the fleet bench runs what is deployed. Deliveries wait on eFactori, Drive and
    # Firestore almost all the time: a few per instance keep it busy without one instance
    # holding many connections' uploads at once. The timeout bounds one delivery (a 50 MB
    # document takes seconds; the engine gives up on in-place retries long before and hands the
    # message back to Pub/Sub); the subscriptions' ack deadline is at least as long, so Pub/Sub
    # does not redeliver a message that is still being copied. Drive limits writes per Google
    # account: the instance count bounds how many pacers write for one account at once.
    max_instance_request_concurrency = local.delivery.functions.SyncDocument.concurrency
    timeout_seconds                  = local.delivery.functions.SyncDocument.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = local.delivery.functions.SyncDocument.max_instances

    # Only Pub/Sub push of this project reaches it (internal ingress; README.md, "Subscriptions").
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.sync_document.email

    # The variables config.Variables declares for SyncDocument; drift_test.go keeps them in step.
    environment_variables = merge(local.copy_env, {
      MAX_EVENT_AGE = "24h"
    })

    # The OAuth client secret refreshes the connections' access tokens; the keyset decrypts the
    # stored refresh tokens.
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
    google_secret_manager_secret_iam_member.sync_document,
  ]
}

# The push identity may invoke SyncDocument and nothing else.
resource "google_cloud_run_service_iam_member" "sync_document_trigger" {
  location = google_cloudfunctions2_function.sync_document.location
  service  = google_cloudfunctions2_function.sync_document.name
  role     = "roles/run.invoker"
  member   = google_service_account.sync_document_trigger.member
}

# Least privilege: its Firestore documents (mappings, folder cache, connection status) and its
# logs, the two secrets it mounts and the KEK that unwraps the keyset. It publishes nothing.
resource "google_project_iam_member" "sync_document" {
  for_each = toset(["roles/datastore.user", "roles/logging.logWriter"])
  project  = var.project
  role     = each.value
  member   = google_service_account.sync_document.member
}

resource "google_secret_manager_secret_iam_member" "sync_document" {
  for_each = {
    oauth_client_secret = google_secret_manager_secret.oauth_client_secret.id
    token_keyset        = google_secret_manager_secret.token_keyset.id
  }
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.sync_document.member
}

resource "google_kms_crypto_key_iam_member" "sync_document" {
  crypto_key_id = google_kms_crypto_key.token_keyset_kek.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = google_service_account.sync_document.member
}

locals {
  # Both functions that write to Drive (SyncDocument, InitialCopy) reach the same Firestore,
  # Google accounts and eFactori API, take leases on the same mappings and write as the same
  # Google accounts, so they share these settings. DOCUMENT_LEASE is how long a delivery that
  # died keeps a document locked; DRIVE_WRITES_PER_SECOND is the write budget of one Google
  # account, shared by every instance (DRIVE_PACING=account).
  copy_env = {
    GOOGLE_CLOUD_PROJECT    = var.project
    LOG_LEVEL               = var.log_level
    FIRESTORE_DATABASE      = google_firestore_database.main.name
    OAUTH_CLIENT_ID         = var.oauth_client_id
    OAUTH_REDIRECT_URL      = local.oauth_redirect_uri
    DRIVE_SCOPE             = var.drive_scope
    TOKEN_KEK_URI           = local.token_keyset_kek_uri
    EFACTORI_DOCUMENTS_URL  = var.efactori_api_url
    EFACTORI_API_AUDIENCE   = var.efactori_api_url # eFactori checks aud = its API base URL (docs/efactori-contract.md)
    DOCUMENT_LEASE          = "20s"
    DRIVE_WRITES_PER_SECOND = "3"
  }
}
