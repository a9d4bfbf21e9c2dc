# The function source: the Go module root, zipped and uploaded once. Every function deploys this
# same archive with its own entry point (the Go buildpack builds the package at the module root).

data "google_project" "this" {}

locals {
  # Names every resource derives from.
  prefix = "drivesync-${var.environment}"
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.terraform/drivesync-source.zip"

  # Only what the buildpack needs: go.mod, go.sum, the root package, functions/, shared/ and
  # docs/api (the OpenAPI document the Connections function embeds and serves; the rest of docs/
  # is prose). Tests, the local stand-ins, the deployment itself and generated folders are left
  # out, so a change to them neither redeploys the functions nor ships test code.
  # source_test.go checks that every file the build needs is kept.
  excludes = [
    ".git/**",
    ".ci/**",
    ".dev/**",
    ".github/**",
    ".idea/**",
    ".vscode/**",
    "docs/**/*.md",
    "local/**",
    "results/**",
    "scripts/**",
    "terraform/**",
    "**/testdata/**",
    "**/*_test.go",
    "**/*.test",
    "**/*.prof",
    "**/node_modules/**",
  ]
}

resource "google_storage_bucket" "source" {
  name                        = "${var.project}-${local.prefix}-src" # at most 57 of the 63 characters allowed
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  # Cloud Functions copies the archive when it builds, so old archives are only kept for
  # inspection. A rollback re-uploads the earlier commit's archive (scripts/deploy --help).
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_object" "source" {
  # The archive's MD5 in the name: a change to the code makes a new object, which changes every
  # function's build_config and so redeploys them; an unchanged tree redeploys nothing.
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# Cloud Build builds the functions as this account rather than the project's default compute
# account, which often holds Editor.
resource "google_service_account" "builder" {
  account_id   = "drivesync-builder"
  display_name = "drivesync function builds (${var.environment})"
}

resource "google_project_iam_member" "builder" {
  # The roles Google documents for a custom Cloud Functions build service account.
  for_each = toset(["roles/cloudbuild.builds.builder", "roles/logging.logWriter"])
  project  = var.project
  role     = each.value
  member   = google_service_account.builder.member
}
