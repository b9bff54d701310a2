# Optional (enable_eventbridge_trigger): CloudTrail's events on the default event bus,
# straight to the function (asynchronous: Lambda's retries, then the on-failure
# destination). Events EventBridge itself cannot deliver (the function throttled for 24
# hours, the permission gone) go to the same dead-letter queue.

resource "aws_cloudwatch_event_rule" "cloudtrail" {
  count = var.enable_eventbridge_trigger ? 1 : 0

  name        = "${var.name_prefix}-cloudtrail"
  description = "CloudTrail events to trailguard"
  event_pattern = jsonencode({
    "detail-type" = local.cloudtrail_detail_types
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "cloudtrail" {
  count = var.enable_eventbridge_trigger ? 1 : 0

  rule = aws_cloudwatch_event_rule.cloudtrail[0].name
  arn  = aws_lambda_function.this.arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "eventbridge" {
  count = var.enable_eventbridge_trigger ? 1 : 0

  statement_id  = "AllowEventBridgeCloudTrailRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.cloudtrail[0].arn
}
