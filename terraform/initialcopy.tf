# InitialCopy: the fan-out of a connection's initial copy or reconcile run (entry point
# config.FunctionInitialCopy). Each copy request lists one page of the company's documents from
# eFactori, publishes one copy task per document (SyncDocument copies them) and the request for
# the next page. A reconcile run (started for every active connection by the scheduled request,
# scheduler.tf) also takes an inventory of the connection's Drive, trashes stray duplicate files
# and records mappings: InitialCopy reaches Drive with the connections' refresh tokens, so, like
# SyncDocument, it mounts the OAuth client secret and the token keyset and may decrypt with the
# KEK.

resource "google_service_account" "initial_copy" {
  account_id   = "drivesync-initial-copy"
  display_name = "drivesync InitialCopy function (${var.environment})"
}

# The identity Pub/Sub pushes copy requests with (subscriptions.tf); it may only invoke the
# function.
resource "google_service_account" "initial_copy_trigger" {
  account_id   = "drivesync-initial-copy-trig"
  display_name = "drivesync InitialCopy push (${var.environment})"
}

resource "google_cloudfunctions2_function" "initial_copy" {
  name        = "drivesync-initial-copy"
  location    = var.region
  description = "drivesync: lists a page of a company's documents and publishes their copy tasks; reconciles a connection's Drive."

  build_config {
    runtime         = "go126"
    entry_point     = "InitialCopy"
    service_account = google_service_account.builder.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    # A reconcile holds the company's inventory in memory: about 300 bytes per document (the
    # eFactori document, its Drive file, its mapping when they disagree), so 512 MiB leaves room
    # for a company of several hundred thousand documents.
    available_memory = "512Mi"
    available_cpu    = "1"
    # From delivery.json, as SyncDocument. One delivery lists Drive (a call per 1,000 files) and
    # eFactori (a call per page) and writes the differences it can fix without an upload;
    # 100,000 documents take a few minutes, inside the timeout. Await requests hold a delivery
    # for 15 s at most. The instance count bounds the listing load on eFactori and Drive when
    # many companies reconcile at once (the scheduled reconcile starts every active connection).
    max_instance_request_concurrency = local.delivery.functions.InitialCopy.concurrency
    timeout_seconds                  = local.delivery.functions.InitialCopy.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = local.delivery.functions.InitialCopy.max_instances

    # Only Pub/Sub push of this project reaches it, as SyncDocument.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.initial_copy.email

    # The variables config.Variables declares for InitialCopy; drift_test.go keeps them in step.
    environment_variables = merge(local.copy_env, {
      COPY_PAGE_SIZE = "500"
      STALL_TIMEOUT  = var.stall_timeout
    })

    # As SyncDocument: the OAuth client secret refreshes the connections' access tokens; the
    # keyset decrypts the stored refresh tokens.
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
    google_secret_manager_secret_iam_member.initial_copy,
  ]
}

resource "google_cloud_run_service_iam_member" "initial_copy_trigger" {
  location = google_cloudfunctions2_function.initial_copy.location
  service  = google_cloudfunctions2_function.initial_copy.name
  role     = "roles/run.invoker"
  member   = google_service_account.initial_copy_trigger.member
}

# Least privilege: its Firestore documents (run pages, mappings, connection state), its logs,
# publishing on the two topics of the copy path, each granted on that topic only, the two secrets
# it mounts and the KEK that unwraps the keyset.
resource "google_project_iam_member" "initial_copy" {
  for_each = toset(["roles/datastore.user", "roles/logging.logWriter"])
  project  = var.project
  role     = each.value
  member   = google_service_account.initial_copy.member
}

resource "google_pubsub_topic_iam_member" "initial_copy" {
  for_each = {
    copy_tasks    = google_pubsub_topic.copy_tasks.id
    copy_requests = google_pubsub_topic.copy_requests.id
  }
  topic  = each.value
  role   = "roles/pubsub.publisher"
  member = google_service_account.initial_copy.member
}

resource "google_secret_manager_secret_iam_member" "initial_copy" {
  for_each = {
    oauth_client_secret = google_secret_manager_secret.oauth_client_secret.id
    token_keyset        = google_secret_manager_secret.token_keyset.id
  }
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.initial_copy.member
}

resource "google_kms_crypto_key_iam_member" "initial_copy" {
  crypto_key_id = google_kms_crypto_key.token_keyset_kek.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = google_service_account.initial_copy.member
}
