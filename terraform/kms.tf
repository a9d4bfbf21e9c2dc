# The key-encryption key (KEK) of the Tink keyset that encrypts OAuth refresh tokens
# (shared/tokencrypt). The keyset is stored encrypted under this key in Secret Manager
# (secrets.tf); a function decrypts it once per instance with Cloud KMS and then encrypts and
# decrypts tokens locally, so KMS is not on the path of each request.

resource "google_kms_key_ring" "drivesync" {
  name     = local.prefix
  location = var.region
}

resource "google_kms_crypto_key" "token_keyset_kek" {
  name     = "token-keyset-kek"
  key_ring = google_kms_key_ring.drivesync.id
  purpose  = "ENCRYPT_DECRYPT"

  # A new primary version every 90 days limits how much is encrypted under one version. Older
  # versions stay enabled, so the keyset, encrypted under whichever version was primary, still
  # decrypts; re-encrypt it (README.md) to retire an old version.
  rotation_period = "7776000s"

  # Losing the KEK loses every stored token. A destroyed key (terraform destroy) can be restored
  # during this window.
  destroy_scheduled_duration = "2592000s"

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = "SOFTWARE"
  }
}

locals {
  # The key as Tink names it: TOKEN_KEK_URI of the functions, --master-key-uri of tinkey.
  token_keyset_kek_uri = "gcp-kms://${google_kms_crypto_key.token_keyset_kek.id}"
}
