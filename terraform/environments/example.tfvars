# An environment's settings: copy to environments/<env>.tfvars and deploy with
#   scripts/deploy plan -e <env>
# Nothing here is secret; the OAuth client secret and the token keyset go to Secret Manager by
# hand (README.md).

project     = "efactori-drivesync-dev"
region      = "europe-west1"
environment = "dev"

firestore_location = "eur3"
log_level          = "INFO"

frontend_origins = ["https://app.dev.efactori.example"]
frontend_url     = "https://app.dev.efactori.example/settings/integrations/google-drive"

efactori_issuer   = "https://login.dev.efactori.example"
efactori_audience = "drivesync"
efactori_api_url  = "https://api.dev.efactori.example"

oauth_client_id = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
drive_scope     = "drive"
# With drive_scope = "drive.file" customers pick their folder with the Google Picker, which needs
# a browser API key of this project (README.md, "Choosing the Drive scope"):
# picker_api_key = "AIza..."

# eFactori publishes document events to the topic drivesync creates here.
create_document_events_topic = true
efactori_publishers          = ["serviceAccount:document-events@efactori-dev.iam.gserviceaccount.com"]

alert_notification_channels = []

# When Cloud Scheduler starts a reconcile run of every active connection (README.md, "Scheduled
# reconcile"): unix-cron, in reconcile_time_zone.
reconcile_schedule  = "0 3 * * *"
reconcile_time_zone = "Europe/Paris"
