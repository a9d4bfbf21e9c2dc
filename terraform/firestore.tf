# Firestore: drivesync's state, one subtree per company (shared/store).

resource "google_firestore_database" "main" {
  name        = var.firestore_database
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  # Connections and their encrypted tokens live here: deleting the database must be deliberate,
  # and `terraform destroy` leaves it in place.
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"
}

# Indexes: exactly those shared/store declares in store.Indexes, next to the queries that need
# them; drift_test.go fails when the two differ. An index of several fields is a
# google_firestore_index; a collection-group index on one field is a single-field override
# (google_firestore_field) like the three below. An override replaces Firestore's automatic indexes
# of the field, so each restates the collection-scope ascending and descending ones to keep
# per-company queries on the field working.

# ConnectionByID: the OAuth token source knows a connection by its ID alone, across companies.
resource "google_firestore_field" "connections_id" {
  database   = google_firestore_database.main.name
  collection = "connections"
  field      = "id"

  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION_GROUP"
    }
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION"
    }
    indexes {
      order       = "DESCENDING"
      query_scope = "COLLECTION"
    }
  }
}

# GrantHolders: before revoking a Google grant, find the other connections to the same account.
resource "google_firestore_field" "connections_google_subject" {
  database   = google_firestore_database.main.name
  collection = "connections"
  field      = "googleSubject"

  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION_GROUP"
    }
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION"
    }
    indexes {
      order       = "DESCENDING"
      query_scope = "COLLECTION"
    }
  }
}

# ActiveConnections: the scheduled reconcile lists every active connection across companies.
resource "google_firestore_field" "connections_status" {
  database   = google_firestore_database.main.name
  collection = "connections"
  field      = "status"

  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION_GROUP"
    }
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION"
    }
    indexes {
      order       = "DESCENDING"
      query_scope = "COLLECTION"
    }
  }
}

# CopyProgress: the synced and failed mappings of one initial-copy run are counted with equality
# filters on runId and state, inside one connection's mappings collection.
resource "google_firestore_index" "mappings_run_state" {
  database   = google_firestore_database.main.name
  collection = "mappings"

  fields {
    field_path = "runId"
    order      = "ASCENDING"
  }
  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
}

# FinishedBy and FinishedAfter: an await request counts a run's finished mappings up to a time
# once, then those finished after it at each check (runId equal, state in synced or failed, a
# range on updatedAt).
resource "google_firestore_index" "mappings_run_state_updated" {
  database   = google_firestore_database.main.name
  collection = "mappings"

  fields {
    field_path = "runId"
    order      = "ASCENDING"
  }
  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updatedAt"
    order      = "ASCENDING"
  }
}

# Reconcile: the live synced mappings of a connection are counted with two equality filters on
# state and deleted, inside one connection's mappings collection.
resource "google_firestore_index" "mappings_state_deleted" {
  database   = google_firestore_database.main.name
  collection = "mappings"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "deleted"
    order      = "ASCENDING"
  }
}

# Document history (ListMappings): one connection's mappings in one state, newest change first,
# and in one state by number prefix. Without a state filter Firestore's automatic single-field
# indexes on updatedAt and numberKey serve the same listings.
resource "google_firestore_index" "mappings_state_updated" {
  database   = google_firestore_database.main.name
  collection = "mappings"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updatedAt"
    order      = "DESCENDING"
  }
}

resource "google_firestore_index" "mappings_state_number" {
  database   = google_firestore_database.main.name
  collection = "mappings"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "numberKey"
    order      = "ASCENDING"
  }
}

# TTL policies: exactly store.TTLPolicies (drift_test.go).
# OAuth states (the short-lived PKCE state of a consent in progress) delete themselves: Firestore
# removes a document some time (typically within a day) after its expireAt has passed, so the
# code still checks expireAt itself when it reads a state.
resource "google_firestore_field" "oauth_states_ttl" {
  database   = google_firestore_database.main.name
  collection = "oauthStates"
  field      = "expireAt"

  ttl_config {}

  # No query filters or sorts on expireAt; an empty index_config drops its single-field indexes,
  # which a TTL field with steadily increasing values would only make hot.
  index_config {}
}
