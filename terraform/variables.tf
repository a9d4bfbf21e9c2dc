# Inputs of one environment. One environment is one Google Cloud project: the Pub/Sub topic names
# are fixed by the code (shared/config), so two environments cannot share a project.
#
# There is deliberately no variable for the OAuth client secret. It is a Secret Manager secret
# (secrets.tf) whose version the operator adds out of band, so the secret never passes through a
# variable, a plan file or the Terraform state, which anyone with read access to the state bucket
# could otherwise read in clear text.

variable "project" {
  description = "Google Cloud project ID that hosts this environment."
  type        = string
}

variable "region" {
  description = "Region of the functions, the KMS key ring and the source bucket."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Environment name (dev, staging, prod…): labels every resource and names the state prefix and the source bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,11}$", var.environment))
    error_message = "The environment must be 1 to 12 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "firestore_location" {
  description = "Location of the Firestore database (a multi-region such as eur3 or nam5, or a region). It cannot change once the database exists."
  type        = string
  default     = "eur3"
}

variable "firestore_database" {
  description = "Firestore database ID. \"(default)\" is the project's default database."
  type        = string
  default     = "(default)"
}

variable "log_level" {
  description = "Lowest log severity the functions write: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "The log level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "frontend_origins" {
  description = "Origins (scheme://host[:port]) of the eFactori frontend, allowed to call the connection API from a browser (CORS)."
  type        = list(string)

  validation {
    condition     = length(var.frontend_origins) > 0 && alltrue([for o in var.frontend_origins : can(regex("^https?://[^/?#]+$", o))])
    error_message = "List at least one origin, each like https://app.efactori.example (no path)."
  }
}

variable "frontend_url" {
  description = "eFactori frontend page the OAuth callback sends the browser back to once the Google consent is over (FRONTEND_URL of the OAuthCallback function)."
  type        = string
}

variable "efactori_issuer" {
  description = "Issuer URL of the eFactori tokens the frontend sends; its OIDC discovery document gives the signing keys."
  type        = string
}

variable "efactori_audience" {
  description = "Audience (aud) eFactori frontend tokens must carry."
  type        = string
}

variable "efactori_api_url" {
  description = "Base URL of eFactori's document API (docs/efactori-contract.md), for example https://api.efactori.example; read by the event functions that copy documents."
  type        = string
}

variable "oauth_client_id" {
  description = "Client ID of the Google OAuth client (type Web application) drivesync signs users in with. Its secret is added to Secret Manager by hand, see README.md."
  type        = string
}

variable "drive_scope" {
  description = "Google Drive scope drivesync asks for: drive (browse and pick folders in the app; a restricted scope that needs Google's verification) or drive.file (folders picked with the Google Picker)."
  type        = string
  default     = "drive"

  validation {
    condition     = contains(["drive", "drive.file"], var.drive_scope)
    error_message = "The Drive scope must be drive or drive.file."
  }
}

variable "picker_api_key" {
  description = "With drive_scope = drive.file: a browser API key of this project, restricted to the Google Picker API and to the frontend's origins (HTTP referrers), which the page passes to the Google Picker (setDeveloperKey). Not a secret: every customer's browser gets it. See README.md, Choosing the Drive scope."
  type        = string
  default     = ""

  validation {
    condition     = (var.drive_scope == "drive.file") == (var.picker_api_key != "")
    error_message = "Set picker_api_key with drive_scope = drive.file (customers pick folders with the Google Picker), and only then."
  }
}

variable "picker_app_id" {
  description = "With drive_scope = drive.file: the Cloud project number of the project that holds the OAuth client, the Google Picker's app ID (setAppId). Empty means this project's number, where the OAuth client normally lives."
  type        = string
  default     = ""

  validation {
    condition     = var.picker_app_id == "" || can(regex("^[0-9]+$", var.picker_app_id))
    error_message = "picker_app_id is a project number (digits), not a project ID."
  }
}

variable "create_document_events_topic" {
  description = "Create the efactori-document-events topic in this project. Set to false when eFactori already created it here; it must keep that name."
  type        = bool
  default     = true
}

variable "efactori_publishers" {
  description = "IAM members (for example serviceAccount:publisher@efactori-prod.iam.gserviceaccount.com) allowed to publish document events."
  type        = list(string)
  default     = []

  validation {
    condition     = length(setintersection(var.efactori_publishers, ["allUsers", "allAuthenticatedUsers"])) == 0
    error_message = "Document events drive what is written to customers' Drives: name eFactori's publishers, never allUsers or allAuthenticatedUsers."
  }
}

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channel IDs (projects/P/notificationChannels/N) the alerts go to."
  type        = list(string)
  default     = []
}

variable "stall_timeout" {
  description = "How long an initial copy or reconcile run may make no progress, with documents left, before drivesync publishes its remaining copy tasks again (a Go duration; STALL_TIMEOUT of the InitialCopy function). After 3 such repairs without progress the run ends failed."
  type        = string
  default     = "2m"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", var.stall_timeout)) && can(regex("[1-9]", var.stall_timeout))
    error_message = "The stall timeout must be a positive Go duration such as 2m or 90s."
  }
}

variable "reconcile_schedule" {
  description = "When Cloud Scheduler starts a reconcile run of every active connection (unix-cron format, in reconcile_time_zone)."
  type        = string
  default     = "0 3 * * *"
}

variable "reconcile_time_zone" {
  description = "Time zone of reconcile_schedule (a tz database name)."
  type        = string
  default     = "Etc/UTC"
}
