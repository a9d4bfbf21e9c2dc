# One dashboard for the delivery path: what is written, what is refused and why, how late, what
# waits and what was given up on. The charts read the log-based metrics of slo.tf and Pub/Sub's
# own subscription metrics.

locals {
  # One chart: a title and its series, each a Monitoring filter with its aggregation.
  dashboard_charts = [
    {
      title = "Documents written to Drive (per second)"
      series = [{
        filter   = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.drive_writes.name}\" AND resource.type = \"cloud_run_revision\""
        aligner  = "ALIGN_RATE"
        reducer  = "REDUCE_SUM"
        group_by = []
        legend   = "written"
        plot     = "LINE"
      }]
    },
    {
      title = "Refusals by reason (per second)"
      series = [{
        filter   = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.refusals.name}\" AND resource.type = \"cloud_run_revision\""
        aligner  = "ALIGN_RATE"
        reducer  = "REDUCE_SUM"
        group_by = ["metric.label.reason"]
        legend   = "$${metric.labels.reason}"
        plot     = "STACKED_BAR"
      }]
    },
    {
      title = "Lag to Drive, 95th percentile (ms)"
      series = [
        {
          filter   = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.document_event_lag.name}\" AND resource.type = \"cloud_run_revision\""
          aligner  = "ALIGN_DELTA"
          reducer  = "REDUCE_PERCENTILE_95"
          group_by = []
          legend   = "document events"
          plot     = "LINE"
        },
        {
          filter   = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.copy_task_lag.name}\" AND resource.type = \"cloud_run_revision\""
          aligner  = "ALIGN_DELTA"
          reducer  = "REDUCE_PERCENTILE_95"
          group_by = []
          legend   = "copy tasks (from the run's start)"
          plot     = "LINE"
        },
      ]
    },
    {
      title = "Dead-lettered messages"
      series = [{
        filter   = "metric.type = \"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type = \"pubsub_subscription\""
        aligner  = "ALIGN_SUM"
        reducer  = "REDUCE_SUM"
        group_by = ["resource.label.subscription_id"]
        legend   = "$${resource.labels.subscription_id}"
        plot     = "STACKED_BAR"
      }]
    },
    {
      title = "Oldest unacknowledged message (s)"
      series = [{
        filter   = "metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = starts_with(\"drivesync-\")"
        aligner  = "ALIGN_MAX"
        reducer  = "REDUCE_MAX"
        group_by = ["resource.label.subscription_id"]
        legend   = "$${resource.labels.subscription_id}"
        plot     = "LINE"
      }]
    },
    {
      title = "Undelivered messages"
      series = [{
        filter   = "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = starts_with(\"drivesync-\")"
        aligner  = "ALIGN_MAX"
        reducer  = "REDUCE_SUM"
        group_by = ["resource.label.subscription_id"]
        legend   = "$${resource.labels.subscription_id}"
        plot     = "LINE"
      }]
    },
  ]
}

resource "google_monitoring_dashboard" "delivery" {
  dashboard_json = jsonencode({
    displayName = "drivesync ${var.environment}: delivery"
    gridLayout = {
      columns = 2
      widgets = [for c in local.dashboard_charts : {
        title = c.title
        xyChart = {
          dataSets = [for s in c.series : {
            plotType       = s.plot
            legendTemplate = s.legend
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = s.filter
                aggregation = {
                  alignmentPeriod    = "60s"
                  perSeriesAligner   = s.aligner
                  crossSeriesReducer = s.reducer
                  groupByFields      = s.group_by
                }
              }
            }
          }]
        }
      }]
    }
  })
}
