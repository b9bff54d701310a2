# Inputs: a key of the caller's, referenced secrets, a custom configuration, and the
# validations that stop a wrong value before AWS sees it.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  lambda_zip_path      = "README.md"
  trail_log_group_name = "CloudTrailLogs"
  trail_log_group_arn  = "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs:*"
}

run "callers_key" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && length(aws_kms_alias.this) == 0
    error_message = "With kms_key_arn the module creates no key."
  }
  assert {
    condition = alltrue([
      for key in [
        aws_cloudwatch_log_group.function.kms_key_id,
        aws_lambda_function.this.kms_key_arn,
        aws_sqs_queue.dead_letter.kms_master_key_id,
        aws_sns_topic.alerts.kms_master_key_id,
        aws_dynamodb_table.state.server_side_encryption[0].kms_key_arn,
        one([for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "UseTheModuleKey"]),
      ] : key == "arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    ])
    error_message = "Every encrypted resource, and the role, use the caller's key."
  }
}

run "referenced_secrets" {
  command = plan

  variables {
    secret_arns = [
      "arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailguard/slack-webhook-AbCdEf",
      "arn:aws:ssm:eu-west-1:111122223333:parameter/trailguard/webhook-signing-key",
    ]
    secret_kms_key_arns = ["arn:aws:kms:eu-west-1:111122223333:key/12345678-90ab-4cde-8f01-234567890abc"]
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "ReadReferencedSecrets"
      ]) == {
      Sid      = "ReadReferencedSecrets"
      Effect   = "Allow"
      Action   = "secretsmanager:GetSecretValue"
      Resource = ["arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailguard/slack-webhook-AbCdEf"]
    }
    error_message = "secretsmanager:GetSecretValue on exactly the Secrets Manager ARNs given."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s.Resource if s.Sid == "ReadReferencedParameters"
    ]) == ["arn:aws:ssm:eu-west-1:111122223333:parameter/trailguard/webhook-signing-key"]
    error_message = "ssm:GetParameter on exactly the SSM parameter ARNs given."
  }
  assert {
    condition = toset(one([
      for s in jsondecode(aws_iam_role_policy.function.policy).Statement : s if s.Sid == "DecryptReferencedSecrets"
    ]).Condition.StringEquals["kms:ViaService"]) == toset(["secretsmanager.eu-west-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com"])
    error_message = "The secrets' keys decrypt only through Secrets Manager and SSM."
  }
  assert {
    condition     = !strcontains(aws_ssm_parameter.config.value, "slack-webhook") && !strcontains(jsonencode(aws_lambda_function.this.environment), "slack")
    error_message = "Secrets are referenced by the role, never copied into the configuration or the environment."
  }
}

run "custom_configuration" {
  command = plan

  variables {
    config_yaml = <<-YAML
      sinks:
        - {type: log}
        - {type: slack, webhook_url_secret: "secretsmanager:trailguard/slack-webhook", min_severity: medium}
      state: {type: dynamodb, table: trailguard-state}
    YAML
  }

  assert {
    condition     = aws_ssm_parameter.config.value == var.config_yaml
    error_message = "config_yaml is stored as given."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.TRAILGUARD_CONFIG == "ssm:/trailguard/config"
    error_message = "The function still reads the parameter."
  }
}

run "other_sizes_and_prefix" {
  command = plan

  variables {
    name_prefix          = "tg-payments"
    reserved_concurrency = 25
    memory_size          = 1024
    timeout_seconds      = 120
    deadman_minutes      = 180
    lambda_runtime       = "python3.11"
  }

  assert {
    condition = (
      aws_lambda_function.this.function_name == "tg-payments"
      && aws_cloudwatch_log_group.function.name == "/aws/lambda/tg-payments"
      && aws_ssm_parameter.config.name == "/tg-payments/config"
      && aws_dynamodb_table.state.name == "tg-payments-state"
      && aws_sns_topic.alerts.name == "tg-payments-alerts"
      && aws_sqs_queue.dead_letter.name == "tg-payments-dlq"
      && aws_iam_role.function.name == "tg-payments-function"
      && aws_cloudwatch_log_subscription_filter.trail.name == "tg-payments"
    )
    error_message = "Every name follows name_prefix."
  }
  assert {
    condition = (
      aws_lambda_function.this.reserved_concurrent_executions == 25
      && aws_lambda_function.this.memory_size == 1024
      && aws_lambda_function.this.timeout == 120
      && aws_lambda_function.this.runtime == "python3.11"
      && aws_cloudwatch_metric_alarm.deadman.period == 180 * 60
    )
    error_message = "Sizes, runtime and the deadman period follow the variables."
  }
}

run "log_group_arn_without_the_suffix" {
  command = plan

  variables {
    trail_log_group_arn = "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs"
  }

  assert {
    condition     = aws_lambda_permission.cloudwatch_logs.source_arn == "arn:aws:logs:eu-west-1:111122223333:log-group:CloudTrailLogs:*"
    error_message = "The permission's source ARN gets the :* CloudWatch Logs uses, whichever form was given."
  }
}

run "log_group_name_and_arn_must_agree" {
  command = plan

  variables {
    trail_log_group_arn = "arn:aws:logs:eu-west-1:111122223333:log-group:SomeOtherGroup:*"
  }

  expect_failures = [aws_cloudwatch_log_subscription_filter.trail]
}

run "missing_package" {
  command = plan

  variables {
    lambda_zip_path = "dist/no-such-package.zip"
  }

  expect_failures = [var.lambda_zip_path]
}

run "bad_prefix" {
  command = plan

  variables {
    name_prefix = "trail guard!"
  }

  expect_failures = [var.name_prefix]
}

run "wildcard_secret" {
  command = plan

  variables {
    secret_arns = ["arn:aws:secretsmanager:*:*:secret:*"]
  }

  expect_failures = [var.secret_arns]
}

run "zero_concurrency" {
  command = plan

  variables {
    reserved_concurrency = 0
  }

  expect_failures = [var.reserved_concurrency]
}

run "deadman_longer_than_a_day" {
  command = plan

  variables {
    deadman_minutes = 1441
  }

  expect_failures = [var.deadman_minutes]
}

run "invalid_yaml" {
  command = plan

  variables {
    config_yaml = "sinks: [unclosed"
  }

  expect_failures = [var.config_yaml]
}
