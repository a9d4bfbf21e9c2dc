# SyncDocument: copies eFactori documents into the customers' Drives (entry point
# config.FunctionSyncDocument). One function handles two topics: eFactori's document events
# (event_trigger below) and drivesync's copy tasks (the google_eventarc_trigger further down).
# A function resource can hold only one event_trigger; a second Eventarc trigger on the same
# Cloud Run service keeps one deployment, one service account and one set of instances (so one
# Drive write pacer per connection per instance) instead of deploying the entry point twice.

resource "google_service_account" "sync_document" {
  account_id   = "drivesync-sync-document"
  display_name = "drivesync SyncDocument function (${var.environment})"
}

# The identity Eventarc pushes with; it may only invoke the function.
resource "google_service_account" "sync_document_trigger" {
  account_id   = "drivesync-sync-document-trig"
  display_name = "drivesync SyncDocument triggers (${var.environment})"
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
    # Deliveries wait on eFactori, Drive and Firestore almost all the time; 8 per instance keeps
    # the instance busy without letting one instance hold many connections' uploads at once.
    max_instance_request_concurrency = 8
    # The longest an event function may run (gen2, Pub/Sub trigger). A 50 MB document takes
    # seconds; the engine itself gives up on in-place retries long before, and hands the message
    # back to Pub/Sub.
    timeout_seconds    = 540
    min_instance_count = 0
    # Drive limits writes per Google account (about 3 per second sustained). Each instance paces
    # each connection to DRIVE_WRITES_PER_SECOND, so N instances may write up to N times that
    # for one connection during an initial copy; 5 instances bound the overshoot, which the
    # engine absorbs by backing off on 403 userRateLimitExceeded. Raise it only with many
    # customers copying at once (Pub/Sub simply queues the rest).
    max_instance_count = 5

    # Only Eventarc (Pub/Sub push inside Google) reaches it.
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

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = local.document_events_topic
    retry_policy          = "RETRY_POLICY_RETRY" # failures are retried, then dead-lettered
    service_account_email = google_service_account.sync_document_trigger.email
  }

  depends_on = [
    google_project_iam_member.builder,
    google_secret_manager_secret_iam_member.sync_document,
  ]
}

# The second topic: copy tasks of initial copies. Pub/Sub-transported Eventarc triggers always
# retry failed deliveries (with the subscription's backoff); dead-lettering is set below.
resource "google_eventarc_trigger" "sync_document_copy_tasks" {
  name            = "drivesync-sync-document-copy-tasks"
  location        = var.region
  service_account = google_service_account.sync_document_trigger.email

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.pubsub.topic.v1.messagePublished"
  }
  transport {
    pubsub {
      topic = google_pubsub_topic.copy_tasks.id
    }
  }
  destination {
    cloud_run_service {
      service = google_cloudfunctions2_function.sync_document.name # a gen2 function runs as the Cloud Run service of the same name
      region  = var.region
    }
  }
}

resource "google_cloud_run_service_iam_member" "sync_document_trigger" {
  location = google_cloudfunctions2_function.sync_document.location
  service  = google_cloudfunctions2_function.sync_document.name
  role     = "roles/run.invoker"
  member   = google_service_account.sync_document_trigger.member
}

# Dead-lettering on the subscriptions Eventarc created (README.md, "Dead letters"); re-run when a
# trigger is replaced.
resource "terraform_data" "sync_document_dead_letter" {
  triggers_replace = [google_cloudfunctions2_function.sync_document.event_trigger[0].trigger]
  provisioner "local-exec" {
    command = <<-EOT
      set -e
      sub=$(gcloud eventarc triggers describe "${google_cloudfunctions2_function.sync_document.event_trigger[0].trigger}" --project "${var.project}" --location "${var.region}" --format='value(transport.pubsub.subscription)')
      gcloud pubsub subscriptions update "$sub" --dead-letter-topic=${google_pubsub_topic.dead_letter.id} \
        --max-delivery-attempts=10 --min-retry-delay=10s --max-retry-delay=600s
      gcloud pubsub subscriptions add-iam-policy-binding "$sub" \
        --member=${local.pubsub_service_agent} --role=roles/pubsub.subscriber
    EOT
  }
}

resource "terraform_data" "sync_document_copy_tasks_dead_letter" {
  triggers_replace = [google_eventarc_trigger.sync_document_copy_tasks.transport[0].pubsub[0].subscription]
  provisioner "local-exec" {
    command = <<-EOT
      set -e
      sub="${google_eventarc_trigger.sync_document_copy_tasks.transport[0].pubsub[0].subscription}"
      gcloud pubsub subscriptions update "$sub" --dead-letter-topic=${google_pubsub_topic.dead_letter.id} \
        --max-delivery-attempts=10 --min-retry-delay=10s --max-retry-delay=600s
      gcloud pubsub subscriptions add-iam-policy-binding "$sub" \
        --member=${local.pubsub_service_agent} --role=roles/pubsub.subscriber
    EOT
  }
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
  # died keeps a document locked; DRIVE_WRITES_PER_SECOND paces Drive writes per connection and
  # instance.
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
    DOCUMENT_LEASE          = "1m"
    DRIVE_WRITES_PER_SECOND = "3"
  }
}
