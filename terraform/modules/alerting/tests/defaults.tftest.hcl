# The module with its defaults: the function, its trigger, configuration, state, topic,
# alarms and role. Offline: the AWS provider is mocked and every run is a plan.
# Run from this module's folder: `terraform init && terraform test`.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  # Any existing file: the mocked provider never uploads it; filebase64sha256 needs one.
  lambda_zip_path      = "README.md"
  trail_log_group_name = "CloudTrailLogs"
  trail_log_group_arn  = "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs:*"
}

run "function" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.function_name == "trailguard"
    error_message = "The function is named after name_prefix (threats.trailguard_tampering recognises it by name)."
  }
  assert {
    condition     = aws_lambda_function.this.handler == "trailguard.aws_lambda.handler"
    error_message = "Wrong handler."
  }
  assert {
    condition     = aws_lambda_function.this.runtime == "python3.12"
    error_message = "The default runtime is python3.12."
  }
  assert {
    condition     = aws_lambda_function.this.filename == "README.md" && aws_lambda_function.this.source_code_hash == filebase64sha256("README.md")
    error_message = "The code comes from lambda_zip_path, with its filebase64sha256 as source_code_hash."
  }
  assert {
    condition     = aws_lambda_function.this.memory_size == 512 && aws_lambda_function.this.timeout == 60
    error_message = "Default memory 512 MB, timeout 60 s."
  }
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 10
    error_message = "Reserved concurrency defaults to 10."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables == tomap({ TRAILGUARD_CONFIG = "ssm:/trailguard/config" })
    error_message = "The environment holds exactly TRAILGUARD_CONFIG=ssm:<parameter>, nothing secret."
  }
  assert {
    condition     = aws_lambda_function.this.kms_key_arn == aws_kms_key.this[0].arn
    error_message = "The environment is encrypted with the module's key."
  }
  assert {
    condition     = aws_lambda_function.this.role == aws_iam_role.function.arn
    error_message = "The function runs with the module's role."
  }
}

run "own_log_group" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.function.name == "/aws/lambda/trailguard"
    error_message = "The function's log group is the one Lambda writes to: /aws/lambda/<function name>."
  }
  assert {
    condition     = aws_cloudwatch_log_group.function.retention_in_days == 365
    error_message = "The function's logs are kept 365 days."
  }
  assert {
    condition     = aws_cloudwatch_log_group.function.kms_key_id == aws_kms_key.this[0].arn
    error_message = "The function's log group is encrypted with the module's key."
  }
}

run "failed_invocations_are_kept" {
  command = plan

  assert {
    condition     = aws_lambda_function_event_invoke_config.this.maximum_retry_attempts == 2
    error_message = "Asynchronous invocations are retried twice."
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.this.destination_config[0].on_failure[0].destination == aws_sqs_queue.dead_letter.arn
    error_message = "Failed asynchronous invocations go to the dead-letter queue."
  }
  assert {
    condition     = aws_sqs_queue.dead_letter.kms_master_key_id == aws_kms_key.this[0].arn
    error_message = "The dead-letter queue is encrypted with the module's key."
  }
  assert {
    condition     = aws_sqs_queue.dead_letter.message_retention_seconds == 1209600
    error_message = "Dead letters are kept 14 days, SQS's longest."
  }
  assert {
    condition = contains(
      [for s in jsondecode(aws_sqs_queue_policy.dead_letter.policy).Statement : s.Sid if s.Effect == "Deny"],
      "DenyWithoutTLS",
    )
    error_message = "The dead-letter queue refuses requests without TLS."
  }
  assert {
    condition     = length([for s in jsondecode(aws_sqs_queue_policy.dead_letter.policy).Statement : s if s.Effect == "Allow"]) == 0
    error_message = "Without the EventBridge trigger, the dead-letter queue policy allows nothing (the function writes with its role)."
  }
}

run "subscription_on_the_trail_log_group" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_subscription_filter.trail.log_group_name == "CloudTrailLogs"
    error_message = "The subscription is on the trail's log group."
  }
  assert {
    condition     = aws_cloudwatch_log_subscription_filter.trail.filter_pattern == ""
    error_message = "The subscription's pattern is empty: every event reaches the function."
  }
  assert {
    condition     = aws_cloudwatch_log_subscription_filter.trail.destination_arn == aws_lambda_function.this.arn
    error_message = "The subscription delivers to the function."
  }
  assert {
    condition     = aws_cloudwatch_log_subscription_filter.trail.name == "trailguard"
    error_message = "The subscription filter's name carries the prefix (threats.trailguard_tampering recognises it)."
  }
  assert {
    condition     = aws_lambda_permission.cloudwatch_logs.principal == "logs.amazonaws.com"
    error_message = "CloudWatch Logs may invoke the function."
  }
  assert {
    condition     = aws_lambda_permission.cloudwatch_logs.source_arn == "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs:*"
    error_message = "The permission is scoped to the trail's log group (ARN with :*), even when the ARN given already ends in :*."
  }
  assert {
    condition     = aws_lambda_permission.cloudwatch_logs.action == "lambda:InvokeFunction"
    error_message = "The permission grants only lambda:InvokeFunction."
  }
}

run "configuration_parameter" {
  command = plan

  assert {
    condition     = aws_ssm_parameter.config.name == "/trailguard/config" && aws_ssm_parameter.config.type == "String"
    error_message = "The configuration is the String parameter /trailguard/config."
  }
  assert {
    condition = yamldecode(aws_ssm_parameter.config.value).state == {
      type  = "dynamodb"
      table = "trailguard-state"
    }
    error_message = "The default configuration keeps state in the module's table."
  }
  assert {
    condition     = [for sink in yamldecode(aws_ssm_parameter.config.value).sinks : sink.type] == ["log", "sns"]
    error_message = "The default configuration has a log sink and an sns sink (no securityhub sink unless enabled)."
  }
  assert {
    condition     = yamldecode(aws_ssm_parameter.config.value).sinks[1].topic_arn == aws_sns_topic.alerts.arn
    error_message = "The sns sink publishes to the module's topic."
  }
  assert {
    condition     = yamldecode(aws_ssm_parameter.config.value).sinks[1].min_severity == "high"
    error_message = "The sns sink delivers high and critical alerts by default."
  }
  assert {
    condition     = output.config_parameter_name == "/trailguard/config"
    error_message = "Output config_parameter_name."
  }
}

run "state_table" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.state.hash_key == "pk" && one(aws_dynamodb_table.state.attribute).name == "pk" && one(aws_dynamodb_table.state.attribute).type == "S"
    error_message = "The state table has exactly one key, pk, a string."
  }
  assert {
    condition     = aws_dynamodb_table.state.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.state.ttl[0].enabled
    error_message = "TTL is on expires_at."
  }
  assert {
    condition     = aws_dynamodb_table.state.point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery is on."
  }
  assert {
    condition     = aws_dynamodb_table.state.server_side_encryption[0].enabled && aws_dynamodb_table.state.server_side_encryption[0].kms_key_arn == aws_kms_key.this[0].arn
    error_message = "The table is encrypted with the module's key."
  }
  assert {
    condition     = aws_dynamodb_table.state.billing_mode == "PAY_PER_REQUEST"
    error_message = "The table is on-demand."
  }
}

run "alert_topic" {
  command = plan

  assert {
    condition     = aws_sns_topic.alerts.kms_master_key_id == aws_kms_key.this[0].arn
    error_message = "The topic is encrypted with the module's key."
  }
  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "No email subscription unless addresses are given."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_sns_topic_policy.alerts.policy).Statement : s
      if s.Effect == "Allow"
      ]).Principal == { Service = "cloudwatch.amazonaws.com" } && one([
      for s in jsondecode(aws_sns_topic_policy.alerts.policy).Statement : s
      if s.Effect == "Allow"
    ]).Condition.StringEquals["aws:SourceAccount"] == "111122223333"
    error_message = "The topic policy allows only this account's CloudWatch alarms to publish."
  }
  assert {
    condition     = length(aws_kms_key.this) == 1 && aws_kms_key.this[0].enable_key_rotation
    error_message = "Without kms_key_arn the module creates its own key, with rotation."
  }
  assert {
    condition = contains(
      [for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Principal],
      { Service = "cloudwatch.amazonaws.com" },
    )
    error_message = "The key lets CloudWatch alarms publish to the encrypted topic."
  }
  assert {
    condition = !contains(
      [for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Principal],
      { Service = "s3.amazonaws.com" },
    )
    error_message = "Without the S3 trigger the key policy does not mention S3."
  }
}

run "alarms" {
  command = plan

  assert {
    condition = alltrue([
      for alarm in [aws_cloudwatch_metric_alarm.function["errors"], aws_cloudwatch_metric_alarm.function["throttles"]] :
      alarm.namespace == "AWS/Lambda" && alarm.threshold == 0 && alarm.comparison_operator == "GreaterThanThreshold" && alarm.dimensions.FunctionName == "trailguard" && alarm.alarm_actions == toset([aws_sns_topic.alerts.arn])
    ])
    error_message = "Errors and Throttles alarm above 0, to the alert topic."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.function["errors"].metric_name == "Errors" && aws_cloudwatch_metric_alarm.function["throttles"].metric_name == "Throttles"
    error_message = "The function alarms watch Errors and Throttles."
  }
  assert {
    condition = (
      keys(aws_cloudwatch_metric_alarm.function) == ["errors", "invalid_input", "throttles"]
      && [for a in aws_cloudwatch_metric_alarm.function : a.alarm_name] == ["trailguard-errors", "trailguard-invalid-input", "trailguard-throttles"]
    )
    error_message = "Three function alarms, named as before the fold (their state moves with them)."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.function["invalid_input"].namespace == "trailguard"
      && aws_cloudwatch_metric_alarm.function["invalid_input"].metric_name == "Invalid"
      && aws_cloudwatch_metric_alarm.function["invalid_input"].dimensions == tomap({ Function = "trailguard" })
      && aws_cloudwatch_metric_alarm.function["invalid_input"].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.function["invalid_input"].threshold == 0
      && aws_cloudwatch_metric_alarm.function["invalid_input"].comparison_operator == "GreaterThanThreshold"
      && aws_cloudwatch_metric_alarm.function["invalid_input"].treat_missing_data == "notBreaching"
      && aws_cloudwatch_metric_alarm.function["invalid_input"].alarm_actions == toset([aws_sns_topic.alerts.arn])
    )
    error_message = "Unreadable input (trailguard's Invalid metric, per Function) alarms above 0, to the alert topic."
  }
  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.dead_letters) == ["function"]
    error_message = "Without the S3 trigger there is one dead-letter queue to watch."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dead_letters["function"].metric_name == "ApproximateNumberOfMessagesVisible"
      && aws_cloudwatch_metric_alarm.dead_letters["function"].dimensions.QueueName == "trailguard-dlq"
      && aws_cloudwatch_metric_alarm.dead_letters["function"].threshold == 0
      && aws_cloudwatch_metric_alarm.dead_letters["function"].comparison_operator == "GreaterThanThreshold"
    )
    error_message = "The dead-letter alarm fires on the first visible message."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.deadman.metric_name == "Invocations"
      && aws_cloudwatch_metric_alarm.deadman.statistic == "Sum"
      && aws_cloudwatch_metric_alarm.deadman.period == 3600
      && aws_cloudwatch_metric_alarm.deadman.evaluation_periods == 1
      && aws_cloudwatch_metric_alarm.deadman.threshold == 1
      && aws_cloudwatch_metric_alarm.deadman.comparison_operator == "LessThanThreshold"
    )
    error_message = "The deadman alarm fires when the function had fewer than 1 invocation in deadman_minutes (60)."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.deadman.treat_missing_data == "breaching"
    error_message = "No data at all is the deadman case: missing data must be breaching."
  }
  assert {
    condition     = length(aws_cloudwatch_log_metric_filter.cis) == 0 && length(aws_cloudwatch_metric_alarm.cis) == 0
    error_message = "No CIS metric filters unless enabled."
  }
}

run "least_privilege_role" {
  command = plan

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Action
      ])) == toset([
      "logs:CreateLogStream", "logs:PutLogEvents",
      "ssm:GetParameter",
      "kms:Decrypt", "kms:GenerateDataKey",
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem",
      "sns:Publish",
      "sqs:SendMessage",
    ])
    error_message = "With the defaults the role may do exactly these actions."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement :
      s.Effect == "Allow" && !anytrue([for a in flatten([s.Action]) : strcontains(a, "*")]) && !contains(flatten([s.Resource]), "*")
    ])
    error_message = "No wildcard action and no Resource \"*\"."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "StateTable"
    ]) == aws_dynamodb_table.state.arn
    error_message = "DynamoDB actions only on the state table."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "WriteOwnLogs"
    ]) == "${aws_cloudwatch_log_group.function.arn}:*"
    error_message = "Log writes only to the function's own log group."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "ReadOwnConfiguration"
    ]) == aws_ssm_parameter.config.arn
    error_message = "ssm:GetParameter only on the configuration parameter when no secret is referenced."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "PublishAlerts"
    ]) == aws_sns_topic.alerts.arn
    error_message = "sns:Publish only on the alert topic."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "OnFailureDestination"
    ]) == aws_sqs_queue.dead_letter.arn
    error_message = "sqs:SendMessage only on the dead-letter queue."
  }
  assert {
    condition     = jsondecode(aws_iam_role.function.assume_role_policy).Statement[0].Principal == { Service = "lambda.amazonaws.com" }
    error_message = "Only Lambda assumes the role."
  }
}

run "optional_parts_are_off" {
  command = plan

  assert {
    condition     = length(aws_sqs_queue.log_files) == 0 && length(aws_s3_bucket_notification.log_bucket) == 0 && length(aws_lambda_event_source_mapping.log_files) == 0
    error_message = "No S3 trigger unless enabled."
  }
  assert {
    condition     = output.s3_notification_queue_url == null
    error_message = "s3_notification_queue_url is null unless the S3 trigger is enabled."
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.cloudtrail) == 0 && length(aws_lambda_permission.eventbridge) == 0
    error_message = "No EventBridge trigger unless enabled."
  }
  assert {
    condition     = length(aws_securityhub_account.this) == 0
    error_message = "Security Hub is left alone unless enabled (moto hangs on aws_securityhub_account)."
  }
}

run "outputs" {
  command = plan

  assert {
    condition = (
      output.function_name == "trailguard"
      && output.function_arn == aws_lambda_function.this.arn
      && output.alert_topic_arn == aws_sns_topic.alerts.arn
      && output.dead_letter_queue_url == aws_sqs_queue.dead_letter.url
      && output.dead_letter_queue_arn == aws_sqs_queue.dead_letter.arn
      && output.state_table_name == "trailguard-state"
    )
    error_message = "Outputs name the module's resources."
  }
}
