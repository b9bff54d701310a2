# The main trigger, as in the seed: a CloudWatch Logs subscription on the trail's log
# group with the empty pattern (every event), delivering to the function asynchronously.

resource "aws_lambda_permission" "cloudwatch_logs" {
  statement_id  = "AllowCloudWatchLogsFromTheTrailLogGroup"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "logs.amazonaws.com"
  source_arn    = "${local.trail_log_group_arn}:*"
}

resource "aws_cloudwatch_log_subscription_filter" "trail" {
  # Its name is what threats.trailguard_tampering recognises (it contains the prefix).
  name            = var.name_prefix
  log_group_name  = var.trail_log_group_name
  filter_pattern  = ""
  destination_arn = aws_lambda_function.this.arn

  lifecycle {
    precondition {
      condition     = local.trail_log_group_arn_name == var.trail_log_group_name
      error_message = "trail_log_group_arn names the log group \"${local.trail_log_group_arn_name}\" but trail_log_group_name is \"${var.trail_log_group_name}\": pass the same group's name and ARN (the trail module's log_group_name and log_group_arn)."
    }
  }

  depends_on = [aws_lambda_permission.cloudwatch_logs]
}
