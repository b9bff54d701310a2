# Alarms on trailguard's own health, to the alert topic (PCI DSS 10.7.2: failures of the
# audit-log pipeline are detected and alerted). OK transitions are sent too, so a
# responder sees when the condition cleared.

locals {
  alarm_actions = [aws_sns_topic.alerts.arn]

  # Dead-letter queues: the function's, and the log-file queue's when the S3 trigger is on.
  dead_letter_queues = merge(
    { function = aws_sqs_queue.dead_letter.name },
    var.enable_s3_sqs_trigger ? { log_files = "${var.name_prefix}-log-files-dlq" } : {},
  )
}

locals {
  # The function's health, each alarming on the first count in 5 minutes. Invalid is
  # trailguard's own metric (Embedded Metric Format lines in the function's log): input that
  # should have held CloudTrail records but could not be read was not evaluated, so a change
  # in it went unseen. It is counted, logged and (for SQS) dead-lettered; this makes it heard.
  function_alarms = {
    errors = {
      name        = "errors"
      description = "trailguard's function failed (an alert not delivered after retries, an unreadable object, a bug): Lambda retries, then the event goes to the dead-letter queue. Read the function's log for the ERROR lines."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
    }
    throttles = {
      name        = "throttles"
      description = "trailguard's function was throttled: its reserved concurrency is too low for the trail's volume (or was lowered). Throttled events wait and are retried, then go to the dead-letter queue."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
    }
    invalid_input = {
      name        = "invalid-input"
      description = "trailguard could not read some of its input: records, messages or log files that should have held CloudTrail events were not evaluated. The function's log has a trailguard.input line (level WARNING) for each, naming where it was and why."
      namespace   = "trailguard"
      metric      = "Invalid"
      dimensions  = { Function = aws_lambda_function.this.function_name }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarms

  alarm_name          = "${var.name_prefix}-${each.value.name}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = aws_cloudwatch_metric_alarm.function["errors"]
}

moved {
  from = aws_cloudwatch_metric_alarm.throttles
  to   = aws_cloudwatch_metric_alarm.function["throttles"]
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${var.name_prefix}-dead-letters-${replace(each.key, "_", "-")}"
  alarm_description   = "Messages in ${each.value}: events trailguard could not process after every retry. Nothing is lost, but nothing was alerted for them either: fix the cause, then replay them (README.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  depends_on = [aws_sqs_queue.dead_letter, aws_sqs_queue.log_files_dead_letter]
}

resource "aws_cloudwatch_metric_alarm" "deadman" {
  # A silent trail is an incident (PCI DSS 10.7.2): no invocation for deadman_minutes
  # means the trail, its log group delivery, the subscription or the function stopped.
  # Missing data is breaching: no datapoint at all is exactly the case to catch.
  alarm_name          = "${var.name_prefix}-deadman"
  alarm_description   = "trailguard's function received no invocation for ${var.deadman_minutes} minutes: check that the trail is logging (aws cloudtrail get-trail-status), that it delivers to its log group, that the subscription filter is there, and the function's errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Invocations"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.deadman_minutes * 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
