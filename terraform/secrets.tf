# Secrets. Terraform creates the containers only; the operator adds each version out of band
# (README.md, "First-time setup"), so secret values never enter Terraform variables, plan files
# or state. Each function that reads a secret gets secretAccessor on that secret alone.

# The Google OAuth client secret (the client ID is the oauth_client_id variable).
resource "google_secret_manager_secret" "oauth_client_secret" {
  secret_id = "drivesync-oauth-client-secret"

  replication {
    auto {}
  }
}

# The Tink keyset that encrypts refresh tokens, itself encrypted under the KMS key in kms.tf:
# the secret alone decrypts nothing.
resource "google_secret_manager_secret" "token_keyset" {
  secret_id = "drivesync-token-keyset"

  replication {
    auto {}
  }
}
