# Production signals: how long a change in eFactori takes to reach the customer's Drive, what
# Drive and the engine refuse, and an SLO on the first.
#
# SyncDocument logs, on the line of every delivery that wrote a document to Drive ("document
# copied"), driveLagMs: the milliseconds from the document event's occurredAt (or, for a copy
# task, from the start of its initial-copy run) to the write (shared/logging.FieldDriveLagMs).
# Copy tasks carry runId on the same line, which tells the two apart. drift_test.go checks that
# the extractors below read the fields the code writes.

locals {
  sync_document_logs = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.sync_document.name}\""
  # Bucket bounds in milliseconds. 60 s is one of them, so the SLO's cut at 60 s is exact.
  drive_lag_bounds = [1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000, 21600000, 86400000]
}

# Lag of document events: the SLO's measure.
resource "google_logging_metric" "document_event_lag" {
  name            = "drivesync/${var.environment}/document_event_lag"
  description     = "Milliseconds from an eFactori document event's occurrence to the Drive write that applied it."
  filter          = "${local.sync_document_logs} AND jsonPayload.driveLagMs:* AND NOT jsonPayload.runId:*"
  value_extractor = "EXTRACT(jsonPayload.driveLagMs)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }

  bucket_options {
    explicit_buckets {
      bounds = local.drive_lag_bounds
    }
  }
}

# Lag of copy tasks, from the start of their run: how far into a bulk copy a document landed.
resource "google_logging_metric" "copy_task_lag" {
  name            = "drivesync/${var.environment}/copy_task_lag"
  description     = "Milliseconds from the start of an initial-copy or reconcile run to the Drive write of one of its documents."
  filter          = "${local.sync_document_logs} AND jsonPayload.driveLagMs:* AND jsonPayload.runId:*"
  value_extractor = "EXTRACT(jsonPayload.driveLagMs)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }

  bucket_options {
    explicit_buckets {
      bounds = local.drive_lag_bounds
    }
  }
}

# Throughput: documents SyncDocument wrote to Drive (created, updated, moved or renamed).
resource "google_logging_metric" "drive_writes" {
  name        = "drivesync/${var.environment}/drive_writes"
  description = "SyncDocument deliveries that wrote a document to Drive."
  filter      = "${local.sync_document_logs} AND jsonPayload.driveLagMs:*"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

# Refusals: every delivery SyncDocument gives back to Pub/Sub, records failed or drops (a revision
# superseded in eFactori) logs errorCode, the Drive reason (userRateLimitExceeded,
# storageQuotaExceeded…) or the engine's own code (document_busy, newer_revision_pending…).
resource "google_logging_metric" "refusals" {
  name        = "drivesync/${var.environment}/refusals"
  description = "SyncDocument deliveries refused, failed or dropped, by reason."
  filter      = "${local.sync_document_logs} AND jsonPayload.errorCode:*"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "reason"
      value_type  = "STRING"
      description = "The Drive reason or the engine's code."
    }
  }

  label_extractors = {
    reason = "EXTRACT(jsonPayload.errorCode)"
  }
}

# The SLO lives on a custom service: drivesync is several Cloud Run services, and the objective is
# about the whole path from eFactori to Drive, not one of them.
resource "google_monitoring_custom_service" "drivesync" {
  service_id   = "drivesync-${var.environment}"
  display_name = "drivesync (${var.environment})"
}

# 99 % of document events in Drive within 60 s, over a rolling 28 days. A request-based SLI on the
# lag distribution: good = lag at most 60 s, total = every document event written.
resource "google_monitoring_slo" "document_events_in_drive" {
  service      = google_monitoring_custom_service.drivesync.service_id
  slo_id       = "document-events-in-drive-60s"
  display_name = "99 % of document events in Drive within 60 s (28 days)"

  goal                = var.document_event_slo_goal
  rolling_period_days = 28

  request_based_sli {
    distribution_cut {
      distribution_filter = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.document_event_lag.name}\" AND resource.type = \"cloud_run_revision\""
      range {
        max = 60000
      }
    }
  }
}

# Multi-window burn-rate alerts (Google's SRE workbook, "Alerting on SLOs"): a fast burn (14.4×
# over 1 h, confirmed over 5 min: 2 % of the month's error budget in an hour) and a slow one (6×
# over 6 h, confirmed over 30 min). The short window makes an alert clear soon after the cause
# is gone.
resource "google_monitoring_alert_policy" "document_events_burn_rate" {
  for_each = {
    fast = { long = "3600s", short = "300s", threshold = 14.4 }
    slow = { long = "21600s", short = "1800s", threshold = 6 }
  }
  display_name = "drivesync ${var.environment}: document event SLO burning (${each.key})"
  combiner     = "AND"

  conditions {
    display_name = "Burn rate over ${each.value.long} above ${each.value.threshold}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.document_events_in_drive.id}\", \"${each.value.long}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
    }
  }
  conditions {
    display_name = "Burn rate over ${each.value.short} above ${each.value.threshold}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.document_events_in_drive.id}\", \"${each.value.short}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Document events reach Drive later than 60 s too often for the 28-day objective. Open the drivesync dashboard: refusals by reason (userRateLimitExceeded means an account is written faster than Drive allows), the subscriptions' backlog and dead letters."
  }

  notification_channels = var.alert_notification_channels
}
