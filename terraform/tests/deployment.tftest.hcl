# Plans the whole deployment with mocked providers (no Google account, no state, no network) and
# checks what a reviewer must never miss: whose service account each function runs as and the
# roles it holds, that only the two browser-facing functions are public, and that secrets reach
# the functions from Secret Manager only. drift_test.go checks the same configuration against the
# code (entry points, variables, topics, indexes) by parsing it; these runs check the plan itself,
# with every expression, for_each and default evaluated by Terraform and the real providers'
# schemas.
#
# Run by scripts/test (terraform test in a temp copy of terraform/). Only `plan` runs: an apply
# would run the local-exec provisioners that call gcloud. A plan leaves computed attributes
# (e-mails, IDs) unknown, so the mocks below give the resources the assertions compare the
# values Google would give them.

mock_provider "google" {
  override_during = plan

  override_data {
    target = data.google_project.this
    values = { number = "123456789012" }
  }

  override_resource {
    target = google_service_account.connections
    values = {
      id     = "projects/drivesync-test/serviceAccounts/drivesync-connections@drivesync-test.iam.gserviceaccount.com"
      email  = "drivesync-connections@drivesync-test.iam.gserviceaccount.com"
      member = "serviceAccount:drivesync-connections@drivesync-test.iam.gserviceaccount.com"
    }
  }
  override_resource {
    target = google_service_account.oauth_callback
    values = {
      id     = "projects/drivesync-test/serviceAccounts/drivesync-oauth-callback@drivesync-test.iam.gserviceaccount.com"
      email  = "drivesync-oauth-callback@drivesync-test.iam.gserviceaccount.com"
      member = "serviceAccount:drivesync-oauth-callback@drivesync-test.iam.gserviceaccount.com"
    }
  }
  override_resource {
    target = google_service_account.sync_document
    values = {
      id     = "projects/drivesync-test/serviceAccounts/drivesync-sync-document@drivesync-test.iam.gserviceaccount.com"
      email  = "drivesync-sync-document@drivesync-test.iam.gserviceaccount.com"
      member = "serviceAccount:drivesync-sync-document@drivesync-test.iam.gserviceaccount.com"
    }
  }
  override_resource {
    target = google_service_account.sync_document_trigger
    values = {
      id     = "projects/drivesync-test/serviceAccounts/drivesync-sync-document-trig@drivesync-test.iam.gserviceaccount.com"
      email  = "drivesync-sync-document-trig@drivesync-test.iam.gserviceaccount.com"
      member = "serviceAccount:drivesync-sync-document-trig@drivesync-test.iam.gserviceaccount.com"
    }
  }
  override_resource {
    target = google_service_account.initial_copy
    values = {
      id     = "projects/drivesync-test/serviceAccounts/drivesync-initial-copy@drivesync-test.iam.gserviceaccount.com"
      email  = "drivesync-initial-copy@drivesync-test.iam.gserviceaccount.com"
      member = "serviceAccount:drivesync-initial-copy@drivesync-test.iam.gserviceaccount.com"
    }
  }
  override_resource {
    target = google_service_account.initial_copy_trigger
    values = {
      id     = "projects/drivesync-test/serviceAccounts/drivesync-initial-copy-trig@drivesync-test.iam.gserviceaccount.com"
      email  = "drivesync-initial-copy-trig@drivesync-test.iam.gserviceaccount.com"
      member = "serviceAccount:drivesync-initial-copy-trig@drivesync-test.iam.gserviceaccount.com"
    }
  }
  override_resource {
    target = google_service_account.builder
    values = {
      id     = "projects/drivesync-test/serviceAccounts/drivesync-builder@drivesync-test.iam.gserviceaccount.com"
      email  = "drivesync-builder@drivesync-test.iam.gserviceaccount.com"
      member = "serviceAccount:drivesync-builder@drivesync-test.iam.gserviceaccount.com"
    }
  }

  override_resource {
    target = google_secret_manager_secret.oauth_client_secret
    values = { id = "projects/drivesync-test/secrets/drivesync-oauth-client-secret" }
  }
  override_resource {
    target = google_secret_manager_secret.token_keyset
    values = { id = "projects/drivesync-test/secrets/drivesync-token-keyset" }
  }
  override_resource {
    target = google_kms_crypto_key.token_keyset_kek
    values = { id = "projects/drivesync-test/locations/europe-west1/keyRings/drivesync-test/cryptoKeys/token-keyset-kek" }
  }

  override_resource {
    target = google_pubsub_topic.document_events
    values = { id = "projects/drivesync-test/topics/efactori-document-events" }
  }
  override_resource {
    target = google_pubsub_topic.copy_requests
    values = { id = "projects/drivesync-test/topics/drivesync-copy-requests" }
  }
  override_resource {
    target = google_pubsub_topic.copy_tasks
    values = { id = "projects/drivesync-test/topics/drivesync-copy-tasks" }
  }
  override_resource {
    target = google_pubsub_topic.dead_letter
    values = { id = "projects/drivesync-test/topics/drivesync-dead-letter" }
  }

  # Where Google serves a gen2 function; the check in oauth_callback.tf compares it with the
  # redirect URI the configuration computes.
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
  efactori_publishers = [
    "serviceAccount:document-events@efactori-test.iam.gserviceaccount.com",
  ]
}

run "service_accounts_and_roles" {
  command = plan

  # Each function runs as its own account, built by the build account.
  assert {
    condition = (
      google_cloudfunctions2_function.connections.service_config[0].service_account_email == google_service_account.connections.email &&
      google_cloudfunctions2_function.oauth_callback.service_config[0].service_account_email == google_service_account.oauth_callback.email &&
      google_cloudfunctions2_function.sync_document.service_config[0].service_account_email == google_service_account.sync_document.email &&
      google_cloudfunctions2_function.initial_copy.service_config[0].service_account_email == google_service_account.initial_copy.email
    )
    error_message = "A function does not run as its own service account."
  }
  assert {
    condition = alltrue([for f in [
      google_cloudfunctions2_function.connections, google_cloudfunctions2_function.oauth_callback,
      google_cloudfunctions2_function.sync_document, google_cloudfunctions2_function.initial_copy,
    ] : f.build_config[0].service_account == google_service_account.builder.id])
    error_message = "A function is not built by drivesync-builder."
  }

  # Project-wide: Firestore and logs only, for every function; the builder builds and logs.
  assert {
    condition = alltrue([for grants in [
      google_project_iam_member.connections, google_project_iam_member.oauth_callback,
      google_project_iam_member.sync_document, google_project_iam_member.initial_copy,
    ] : keys(grants) == ["roles/datastore.user", "roles/logging.logWriter"]])
    error_message = "A function holds project roles other than roles/datastore.user and roles/logging.logWriter."
  }
  assert {
    condition = (
      alltrue([for g in google_project_iam_member.connections : g.member == google_service_account.connections.member && g.project == "drivesync-test"]) &&
      alltrue([for g in google_project_iam_member.oauth_callback : g.member == google_service_account.oauth_callback.member && g.project == "drivesync-test"]) &&
      alltrue([for g in google_project_iam_member.sync_document : g.member == google_service_account.sync_document.member && g.project == "drivesync-test"]) &&
      alltrue([for g in google_project_iam_member.initial_copy : g.member == google_service_account.initial_copy.member && g.project == "drivesync-test"])
    )
    error_message = "A function's project roles are granted to another account or project."
  }
  assert {
    condition = (
      keys(google_project_iam_member.builder) == ["roles/cloudbuild.builds.builder", "roles/logging.logWriter"] &&
      alltrue([for g in google_project_iam_member.builder : g.member == google_service_account.builder.member])
    )
    error_message = "drivesync-builder holds other project roles than roles/cloudbuild.builds.builder and roles/logging.logWriter."
  }

  # Each function reads the two secrets it mounts, one grant per secret, and nothing else.
  assert {
    condition = alltrue([for grants in [
      google_secret_manager_secret_iam_member.connections, google_secret_manager_secret_iam_member.oauth_callback,
      google_secret_manager_secret_iam_member.sync_document, google_secret_manager_secret_iam_member.initial_copy,
      ] : (
      { for k, g in grants : k => g.secret_id } == {
        oauth_client_secret = "projects/drivesync-test/secrets/drivesync-oauth-client-secret"
        token_keyset        = "projects/drivesync-test/secrets/drivesync-token-keyset"
      } &&
      alltrue([for g in grants : g.role == "roles/secretmanager.secretAccessor"])
    )])
    error_message = "A function may read other secrets, or with another role, than secretAccessor on the OAuth client secret and the token keyset."
  }
  assert {
    condition = (
      alltrue([for g in google_secret_manager_secret_iam_member.connections : g.member == google_service_account.connections.member]) &&
      alltrue([for g in google_secret_manager_secret_iam_member.oauth_callback : g.member == google_service_account.oauth_callback.member]) &&
      alltrue([for g in google_secret_manager_secret_iam_member.sync_document : g.member == google_service_account.sync_document.member]) &&
      alltrue([for g in google_secret_manager_secret_iam_member.initial_copy : g.member == google_service_account.initial_copy.member])
    )
    error_message = "A function's secret access is granted to another account."
  }

  # Each function may decrypt with the key-encryption key, never encrypt.
  assert {
    condition = (
      google_kms_crypto_key_iam_member.connections.member == google_service_account.connections.member &&
      google_kms_crypto_key_iam_member.oauth_callback.member == google_service_account.oauth_callback.member &&
      google_kms_crypto_key_iam_member.sync_document.member == google_service_account.sync_document.member &&
      google_kms_crypto_key_iam_member.initial_copy.member == google_service_account.initial_copy.member
    )
    error_message = "A function's KMS grant is given to another account."
  }
  assert {
    condition = alltrue([for g in [
      google_kms_crypto_key_iam_member.connections, google_kms_crypto_key_iam_member.oauth_callback,
      google_kms_crypto_key_iam_member.sync_document, google_kms_crypto_key_iam_member.initial_copy,
      ] : g.role == "roles/cloudkms.cryptoKeyDecrypter" &&
      g.crypto_key_id == "projects/drivesync-test/locations/europe-west1/keyRings/drivesync-test/cryptoKeys/token-keyset-kek"
    ])
    error_message = "A function holds another KMS role than cryptoKeyDecrypter, or on another key."
  }

  # Publishing: InitialCopy on the two topics of the copy path, each on that topic only; Cloud
  # Scheduler's agent on the copy requests; Pub/Sub's agent on the dead-letter topic; eFactori on
  # the document events.
  assert {
    condition = (
      { for k, g in google_pubsub_topic_iam_member.initial_copy : k => [g.topic, g.role, g.member] } == {
        copy_requests = ["projects/drivesync-test/topics/drivesync-copy-requests", "roles/pubsub.publisher", google_service_account.initial_copy.member]
        copy_tasks    = ["projects/drivesync-test/topics/drivesync-copy-tasks", "roles/pubsub.publisher", google_service_account.initial_copy.member]
      }
    )
    error_message = "InitialCopy may publish elsewhere than on the copy requests and copy tasks topics."
  }
  assert {
    condition = (
      google_pubsub_topic_iam_member.connections_copy_tasks.topic == "projects/drivesync-test/topics/drivesync-copy-tasks" &&
      google_pubsub_topic_iam_member.connections_copy_tasks.role == "roles/pubsub.publisher" &&
      google_pubsub_topic_iam_member.connections_copy_tasks.member == google_service_account.connections.member
    )
    error_message = "Connections may publish the document history's retries only on the copy tasks topic."
  }
  assert {
    condition = (
      google_pubsub_topic_iam_member.scheduler_publisher.topic == "projects/drivesync-test/topics/drivesync-copy-requests" &&
      google_pubsub_topic_iam_member.scheduler_publisher.role == "roles/pubsub.publisher" &&
      google_pubsub_topic_iam_member.scheduler_publisher.member == "serviceAccount:service-123456789012@gcp-sa-cloudscheduler.iam.gserviceaccount.com" &&
      google_pubsub_topic_iam_member.dead_letter_publisher.topic == "projects/drivesync-test/topics/drivesync-dead-letter" &&
      google_pubsub_topic_iam_member.dead_letter_publisher.member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
    )
    error_message = "Cloud Scheduler's or Pub/Sub's service agent publishes elsewhere than on its one topic."
  }
  assert {
    condition = (
      [for g in values(google_pubsub_topic_iam_member.efactori_publishers) : [g.topic, g.role, g.member]] == [
        ["projects/drivesync-test/topics/efactori-document-events", "roles/pubsub.publisher", "serviceAccount:document-events@efactori-test.iam.gserviceaccount.com"],
      ]
    )
    error_message = "eFactori's publishers are not granted roles/pubsub.publisher on the document events topic."
  }

  # Event functions are triggered by their own trigger accounts, which alone may invoke them.
  assert {
    condition = (
      google_cloudfunctions2_function.sync_document.event_trigger[0].service_account_email == google_service_account.sync_document_trigger.email &&
      google_cloudfunctions2_function.sync_document.event_trigger[0].pubsub_topic == "projects/drivesync-test/topics/efactori-document-events" &&
      google_eventarc_trigger.sync_document_copy_tasks.service_account == google_service_account.sync_document_trigger.email &&
      google_eventarc_trigger.sync_document_copy_tasks.transport[0].pubsub[0].topic == "projects/drivesync-test/topics/drivesync-copy-tasks" &&
      google_cloudfunctions2_function.initial_copy.event_trigger[0].service_account_email == google_service_account.initial_copy_trigger.email &&
      google_cloudfunctions2_function.initial_copy.event_trigger[0].pubsub_topic == "projects/drivesync-test/topics/drivesync-copy-requests"
    )
    error_message = "An event function is triggered by another account or topic than its own."
  }
  assert {
    condition = (
      google_cloud_run_service_iam_member.sync_document_trigger.member == google_service_account.sync_document_trigger.member &&
      google_cloud_run_service_iam_member.sync_document_trigger.service == "drivesync-sync-document" &&
      google_cloud_run_service_iam_member.initial_copy_trigger.member == google_service_account.initial_copy_trigger.member &&
      google_cloud_run_service_iam_member.initial_copy_trigger.service == "drivesync-initial-copy" &&
      google_cloud_run_service_iam_member.sync_document_trigger.role == "roles/run.invoker" &&
      google_cloud_run_service_iam_member.initial_copy_trigger.role == "roles/run.invoker"
    )
    error_message = "An event function's invoker is not its trigger account."
  }
}

run "only_the_browser_facing_functions_are_public" {
  command = plan

  assert {
    condition = (
      google_cloud_run_service_iam_member.connections_public.service == "drivesync-connections" &&
      google_cloud_run_service_iam_member.connections_public.role == "roles/run.invoker" &&
      google_cloud_run_service_iam_member.oauth_callback_public.service == "drivesync-oauth-callback" &&
      google_cloud_run_service_iam_member.oauth_callback_public.role == "roles/run.invoker"
    )
    error_message = "allUsers may invoke something else than Connections and OAuthCallback."
  }
  assert {
    condition = alltrue([for g in [
      google_cloud_run_service_iam_member.sync_document_trigger, google_cloud_run_service_iam_member.initial_copy_trigger,
    ] : !contains(["allUsers", "allAuthenticatedUsers"], g.member)])
    error_message = "An event function can be invoked by anyone."
  }
  assert {
    condition = (
      google_cloudfunctions2_function.connections.service_config[0].ingress_settings == "ALLOW_ALL" &&
      google_cloudfunctions2_function.oauth_callback.service_config[0].ingress_settings == "ALLOW_ALL" &&
      google_cloudfunctions2_function.sync_document.service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY" &&
      google_cloudfunctions2_function.initial_copy.service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY"
    )
    error_message = "An event function takes traffic from the internet."
  }
  assert {
    condition     = google_storage_bucket.source.public_access_prevention == "enforced" && google_storage_bucket.source.uniform_bucket_level_access
    error_message = "The source bucket could be made public."
  }
}

run "secrets_come_from_secret_manager_only" {
  command = plan

  assert {
    condition = alltrue([for f in [
      google_cloudfunctions2_function.connections, google_cloudfunctions2_function.oauth_callback,
      google_cloudfunctions2_function.sync_document, google_cloudfunctions2_function.initial_copy,
      ] : length(setintersection(keys(f.service_config[0].environment_variables), [
        "OAUTH_CLIENT_SECRET", "TOKEN_KEYSET", "EFACTORI_DEV_TOKEN",
        "TOKEN_KEYSET_CLEARTEXT", "GOOGLE_EMULATOR_URL", "FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST",
    ])) == 0])
    error_message = "A function gets a secret, or a local-only setting, as a plain environment variable."
  }
  assert {
    condition = alltrue([for f in [
      google_cloudfunctions2_function.connections, google_cloudfunctions2_function.oauth_callback,
      google_cloudfunctions2_function.sync_document, google_cloudfunctions2_function.initial_copy,
      ] : toset([for s in f.service_config[0].secret_environment_variables : [s.key, s.secret, s.version, s.project_id]]) == toset([
        ["OAUTH_CLIENT_SECRET", "drivesync-oauth-client-secret", "latest", "drivesync-test"],
        ["TOKEN_KEYSET", "drivesync-token-keyset", "latest", "drivesync-test"],
    ])])
    error_message = "A function does not read exactly the OAuth client secret and the token keyset from Secret Manager."
  }
  assert {
    condition = alltrue([for f in [
      google_cloudfunctions2_function.connections, google_cloudfunctions2_function.oauth_callback,
      google_cloudfunctions2_function.sync_document, google_cloudfunctions2_function.initial_copy,
      ] : f.service_config[0].environment_variables["TOKEN_KEK_URI"] ==
      "gcp-kms://projects/drivesync-test/locations/europe-west1/keyRings/drivesync-test/cryptoKeys/token-keyset-kek"
    ])
    error_message = "A function's TOKEN_KEK_URI is not the KEK's Tink URI."
  }
}

run "drive_file_scope_reaches_every_function" {
  command = plan

  variables {
    drive_scope    = "drive.file"
    picker_api_key = "AIza-test-picker-key"
  }

  assert {
    condition = (
      google_cloudfunctions2_function.connections.service_config[0].environment_variables["PICKER_APP_ID"] == "123456789012" &&
      google_cloudfunctions2_function.connections.service_config[0].environment_variables["PICKER_API_KEY"] == "AIza-test-picker-key"
    )
    error_message = "The Connections function does not get the Google Picker's app ID (the project number) and API key."
  }

  assert {
    condition = alltrue([for f in [
      google_cloudfunctions2_function.connections, google_cloudfunctions2_function.oauth_callback,
      google_cloudfunctions2_function.sync_document, google_cloudfunctions2_function.initial_copy,
    ] : f.service_config[0].environment_variables["DRIVE_SCOPE"] == "drive.file"])
    error_message = "A function asks Google for another Drive scope than drive_scope."
  }
}

run "picker_settings_only_with_drive_file" {
  command = plan

  assert {
    condition = (
      google_cloudfunctions2_function.connections.service_config[0].environment_variables["PICKER_APP_ID"] == "" &&
      google_cloudfunctions2_function.connections.service_config[0].environment_variables["PICKER_API_KEY"] == ""
    )
    error_message = "The drive scope browses folders: the Connections function must get no Google Picker settings, which it refuses."
  }
}

run "drive_file_without_picker_key_refused" {
  command = plan

  variables {
    drive_scope = "drive.file"
  }

  expect_failures = [var.picker_api_key]
}

run "document_events_topic_created_by_efactori" {
  command = plan

  variables {
    create_document_events_topic = false
  }

  assert {
    condition = (
      length(google_pubsub_topic.document_events) == 0 &&
      google_cloudfunctions2_function.sync_document.event_trigger[0].pubsub_topic == "projects/drivesync-test/topics/efactori-document-events"
    )
    error_message = "With create_document_events_topic = false, SyncDocument must be triggered by eFactori's existing topic."
  }
}

run "document_events_are_not_public" {
  command = plan

  variables {
    efactori_publishers = ["allUsers"]
  }

  expect_failures = [var.efactori_publishers]
}
