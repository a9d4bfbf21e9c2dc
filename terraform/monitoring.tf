# Alerts on messages drivesync gave up on and on function errors.

# Dead letters: Pub/Sub writes no log entry when it dead-letters a message, so a log-based metric
# would never see one. The dead-letter subscription's backlog is the reliable signal: the alert
# fires as soon as one message waits there and clears once a person has dealt with them.
resource "google_monitoring_alert_policy" "dead_letters" {
  display_name = "drivesync ${var.environment}: undeliverable messages"
  combiner     = "OR"

  conditions {
    display_name = "Messages in ${google_pubsub_subscription.dead_letter.name}"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A drivesync event could not be processed after every retry and was moved to the `drivesync-dead-letter` subscription. Read the function's logs for the message ID, fix the cause, then pull the messages (`gcloud pubsub subscriptions pull drivesync-dead-letter`) and publish them again to their topic."
  }

  notification_channels = var.alert_notification_channels
}

# Errors the functions log (severity ERROR or above): internal errors of the HTTP functions and
# failures the event functions record before giving up on a message.
resource "google_logging_metric" "function_errors" {
  name        = "drivesync/${var.environment}/function_errors"
  description = "Log entries of severity ERROR or above written by drivesync functions."
  filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name =~ \"^drivesync-\" AND severity >= ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key         = "service_name"
      value_type  = "STRING"
      description = "The function that logged the error."
    }
  }

  label_extractors = {
    service_name = "EXTRACT(resource.labels.service_name)"
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  display_name = "drivesync ${var.environment}: function errors"
  combiner     = "OR"

  conditions {
    display_name = "More than 5 errors in 10 minutes"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 5
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.service_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A drivesync function logs errors. Open Logs Explorer on the service named in the incident, severity ERROR."
  }

  notification_channels = var.alert_notification_channels
}
