# The function, its log group, and where failed asynchronous invocations go.

resource "aws_cloudwatch_log_group" "function" {
  # The function's alerts (one JSON line each), summaries and EMF metrics; kept a year
  # like the audit logs it derives from (PCI DSS 10.5.1).
  name              = local.function_log_group
  retention_in_days = 365
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_sqs_queue" "dead_letter" {
  # Failed asynchronous invocations (CloudWatch Logs, EventBridge) after Lambda's retries,
  # and events EventBridge could not deliver: nothing is dropped. The DeadLetters alarm
  # fires on the first message.
  name                      = "${var.name_prefix}-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "dead_letter" {
  # Lambda's on-failure destination writes with the function's role (iam.tf); only
  # EventBridge's dead letters need an allow here.
  queue_url = aws_sqs_queue.dead_letter.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      var.enable_eventbridge_trigger ? [
        {
          Sid       = "EventBridgeDeadLetters"
          Effect    = "Allow"
          Principal = { Service = "events.amazonaws.com" }
          Action    = "sqs:SendMessage"
          Resource  = aws_sqs_queue.dead_letter.arn
          Condition = {
            ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.cloudtrail[0].arn }
          }
        },
      ] : [],
      [
        {
          Sid       = "DenyWithoutTLS"
          Effect    = "Deny"
          Principal = { AWS = "*" }
          Action    = "sqs:*"
          Resource  = aws_sqs_queue.dead_letter.arn
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
      ],
    )
  })
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the SQS queue aws_sqs_queue.dead_letter through the on-failure destination (aws_lambda_function_event_invoke_config.this), which records the error with the event; a dead_letter_config as well would store every failure twice.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SSM, DynamoDB, SNS, S3, Security Hub) and optional HTTPS webhooks, and reaches nothing inside a VPC; a VPC would need a NAT gateway or interface endpoints and adds nothing here.
  #checkov:skip=CKV_AWS_50:X-Ray tracing left off on purpose: the handler logs a summary line and EMF metrics for every invocation, and the alarms watch Errors, Throttles and the dead-letter queue.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signing step in the build; the package's integrity is pinned by source_code_hash (filebase64sha256 of the reproducible zip) and changes to the code are alerted by threats.trailguard_tampering.
  function_name                  = local.function_name
  description                    = "trailguard: CloudTrail records to alerts"
  role                           = aws_iam_role.function.arn
  handler                        = "trailguard.aws_lambda.handler"
  runtime                        = var.lambda_runtime
  filename                       = var.lambda_zip_path
  source_code_hash               = filebase64sha256(var.lambda_zip_path)
  memory_size                    = var.memory_size
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = local.kms_key_arn

  environment {
    # Only a reference: the configuration lives in SSM, secrets in Secrets Manager/SSM.
    variables = {
      TRAILGUARD_CONFIG = "ssm:${aws_ssm_parameter.config.name}"
    }
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy.function,
  ]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letter.arn
    }
  }
}
