# enable_cis_metric_filters: the 14 metric filters exactly as Security Hub's controls
# CloudWatch.1 to CloudWatch.14 check them, compared with the reference copied from the
# AWS Security Hub user guide (tests/fixtures/reference/cis-cloudwatch-filters.md at the
# repository's root), and an alarm on each metric to the alert topic.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  lambda_zip_path           = "README.md"
  trail_log_group_name      = "CloudTrailLogs"
  trail_log_group_arn       = "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs"
  enable_cis_metric_filters = true
  alert_email_addresses     = ["secops@example.com"]

  # [control id, pattern] for each "## CloudWatch.N" section of the reference.
  reference = "../../../tests/fixtures/reference/cis-cloudwatch-filters.md"
}

run "patterns_match_the_security_hub_reference" {
  command = plan

  variables {
    reference_controls = {
      for m in regexall("(?m)^## (CloudWatch\\.[0-9]+):[^\\n]*\\n(?:[^\\n]*\\n)*?```\\n([^\\n]*)\\n```", file(var.reference)) :
      m[0] => m[1]
    }
  }

  assert {
    condition     = length(var.reference_controls) == 14
    error_message = "The reference should describe CloudWatch.1 to CloudWatch.14 (found ${length(var.reference_controls)})."
  }
  assert {
    condition     = toset(keys(aws_cloudwatch_log_metric_filter.cis)) == toset(keys(var.reference_controls))
    error_message = "One metric filter per Security Hub control, keyed by control id."
  }
  assert {
    condition = alltrue([
      for id, pattern in var.reference_controls : aws_cloudwatch_log_metric_filter.cis[id].pattern == pattern
    ])
    error_message = "Patterns differ from the reference: ${join("; ", [for id, pattern in var.reference_controls : id if aws_cloudwatch_log_metric_filter.cis[id].pattern != pattern])}."
  }
  assert {
    condition     = alltrue([for f in aws_cloudwatch_log_metric_filter.cis : f.log_group_name == "CloudTrailLogs"])
    error_message = "The filters are on the trail's log group."
  }
}

run "each_metric_has_an_alarm_to_the_topic" {
  command = plan

  assert {
    condition = alltrue([
      for id, f in aws_cloudwatch_log_metric_filter.cis :
      f.metric_transformation[0].namespace == "CISBenchmark" && f.metric_transformation[0].value == "1"
    ])
    error_message = "Each filter counts 1 per match in the CISBenchmark namespace."
  }
  assert {
    condition     = length(distinct([for f in aws_cloudwatch_log_metric_filter.cis : f.metric_transformation[0].name])) == 14
    error_message = "Each control has its own metric."
  }
  assert {
    condition = alltrue([
      for id, f in aws_cloudwatch_log_metric_filter.cis :
      aws_cloudwatch_metric_alarm.cis[id].metric_name == f.metric_transformation[0].name
      && aws_cloudwatch_metric_alarm.cis[id].namespace == "CISBenchmark"
      && aws_cloudwatch_metric_alarm.cis[id].threshold == 1
      && aws_cloudwatch_metric_alarm.cis[id].comparison_operator == "GreaterThanOrEqualToThreshold"
      && aws_cloudwatch_metric_alarm.cis[id].actions_enabled
      && aws_cloudwatch_metric_alarm.cis[id].alarm_actions == toset([aws_sns_topic.alerts.arn])
    ])
    error_message = "Each metric has an alarm at 1 or more, to the alert topic."
  }
  assert {
    condition     = [for s in aws_sns_topic_subscription.email : s.endpoint] == ["secops@example.com"] && aws_sns_topic_subscription.email["secops@example.com"].protocol == "email"
    error_message = "The topic has the email subscriber Security Hub requires."
  }
}
