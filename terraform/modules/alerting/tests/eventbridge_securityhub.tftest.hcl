# enable_eventbridge_trigger and enable_securityhub.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  lambda_zip_path      = "README.md"
  trail_log_group_name = "CloudTrailLogs"
  trail_log_group_arn  = "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs"
}

run "eventbridge_trigger" {
  command = plan

  variables {
    enable_eventbridge_trigger = true
  }

  assert {
    condition     = contains(jsondecode(aws_cloudwatch_event_rule.cloudtrail[0].event_pattern)["detail-type"], "AWS API Call via CloudTrail")
    error_message = "The rule matches CloudTrail's API call events."
  }
  assert {
    condition     = keys(jsondecode(aws_cloudwatch_event_rule.cloudtrail[0].event_pattern)) == ["detail-type"]
    error_message = "The rule filters on CloudTrail's detail-types only (the rules decide the rest)."
  }
  assert {
    condition     = aws_cloudwatch_event_target.cloudtrail[0].arn == aws_lambda_function.this.arn
    error_message = "The rule targets the function."
  }
  assert {
    condition     = aws_cloudwatch_event_target.cloudtrail[0].dead_letter_config[0].arn == aws_sqs_queue.dead_letter.arn
    error_message = "Events EventBridge cannot deliver go to the dead-letter queue."
  }
  assert {
    condition     = aws_lambda_permission.eventbridge[0].principal == "events.amazonaws.com" && aws_lambda_permission.eventbridge[0].source_arn == aws_cloudwatch_event_rule.cloudtrail[0].arn
    error_message = "EventBridge may invoke the function, from this rule only."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_sqs_queue_policy.dead_letter.policy).Statement : s if s.Effect == "Allow"
    ]).Condition.ArnEquals["aws:SourceArn"] == aws_cloudwatch_event_rule.cloudtrail[0].arn
    error_message = "Only this rule may send dead letters to the queue."
  }
  assert {
    condition     = aws_cloudwatch_log_subscription_filter.trail.filter_pattern == ""
    error_message = "The log group subscription stays on beside EventBridge."
  }
}

run "securityhub" {
  command = plan

  variables {
    enable_securityhub = true
  }

  assert {
    condition     = length(aws_securityhub_account.this) == 1
    error_message = "enable_securityhub turns Security Hub on."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "ImportFindings"
      ]) == {
      Sid      = "ImportFindings"
      Effect   = "Allow"
      Action   = "securityhub:BatchImportFindings"
      Resource = "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
    }
    error_message = "The function may import findings through the account's default product only."
  }
  assert {
    condition     = [for sink in yamldecode(aws_ssm_parameter.config.value).sinks : sink.type] == ["log", "sns", "securityhub"]
    error_message = "The default configuration gains a securityhub sink."
  }
}
