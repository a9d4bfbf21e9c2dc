# The deployment of drivesync. Providers cannot be downloaded on the development machines, so
# scripts/test checks formatting here and a Go test (drift_test.go) checks that this configuration
# and the code agree; `terraform init` and `plan` run where the provider registry is reachable,
# through scripts/deploy.
terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0"
    }
    # Zips the module root for upload; 2.4 added glob patterns in `excludes`.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4"
    }
  }

  # State lives in a GCS bucket the operator creates once per project (versioned, so an earlier
  # state can be restored). scripts/deploy passes the bucket and a per-environment prefix with
  # -backend-config; nothing about the backend is hard-coded here.
  backend "gcs" {}
}

provider "google" {
  project = var.project
  region  = var.region

  default_labels = {
    app         = "drivesync"
    environment = var.environment
  }
}
