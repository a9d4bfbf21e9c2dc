# The deployment of drivesync. scripts/deploy runs init, plan and apply against the provider
# registry; scripts/test validates and tests this configuration with the same providers, from the
# registry or an offline mirror (tests/*.tftest.hcl), and drift_test.go checks that it and the
# code agree.
terraform {
  required_version = ">= 1.11" # tests/*.tftest.hcl mock values during plan (override_during)

  required_providers {
    # Major versions are bounded: a new major changes resource schemas and defaults, and is
    # taken deliberately (scripts/test, then a plan in every environment).
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
    # Zips the module root for upload; 2.4 added glob patterns in `excludes`.
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
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
