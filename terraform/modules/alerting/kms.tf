# The module's customer managed key (unless var.kms_key_arn is given): it encrypts the
# function's log group and environment, the dead-letter and notification queues, the alert
# topic and the state table. A key passed in needs the same service statements.

locals {
  kms_key_policy_statements = concat(
    [
      {
        Sid       = "EnableIAMPoliciesOfTheAccount"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # Only for the function's own log group: the encryption context names it.
        Sid       = "CloudWatchLogsForTheFunctionLogGroup"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnEquals = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.function_log_group}"
          }
        }
      },
      {
        # CloudWatch alarms publish to the encrypted alert topic. As AWS documents it, with
        # no condition: the topic policy is what limits publishing to this account's alarms.
        Sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ],
    var.enable_s3_sqs_trigger ? [
      {
        # S3 sends the log bucket's notifications to the encrypted queue; the queue policy
        # limits which bucket may.
        Sid       = "S3NotificationsToTheEncryptedQueue"
        Effect    = "Allow"
        Principal = { Service = "s3.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ] : [],
    var.enable_eventbridge_trigger ? [
      {
        # EventBridge puts events it could not deliver into the encrypted dead-letter queue;
        # the queue policy limits which rule may.
        Sid       = "EventBridgeDeadLettersToTheEncryptedQueue"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ] : [],
  )
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "${var.name_prefix}: function logs and environment, queues, alert topic, state table"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.kms_key_policy_statements
  })
  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this[0].key_id
}
