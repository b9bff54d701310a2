# Optional (enable_s3_sqs_trigger): the trail's log files, read from S3. The log bucket
# notifies an SQS queue of each new object under AWSLogs/; the queue invokes the function
# (10 messages a batch, each processed on its own, failures reported per message) and
# moves a message that failed 5 times to its own dead-letter queue.
# `trailguard backfill --queue URL` sends to the same queue (docs/backfill.md).

locals {
  s3_trigger_count = var.enable_s3_sqs_trigger ? 1 : 0
}

resource "aws_sqs_queue" "log_files_dead_letter" {
  count = local.s3_trigger_count

  name                      = "${var.name_prefix}-log-files-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}

resource "aws_sqs_queue" "log_files" {
  count = local.s3_trigger_count

  name                       = "${var.name_prefix}-log-files"
  visibility_timeout_seconds = 6 * var.timeout_seconds
  message_retention_seconds  = 1209600
  kms_master_key_id          = local.kms_key_arn
  tags                       = var.tags

  lifecycle {
    # aws_sqs_queue_redrive_policy.log_files manages it.
    ignore_changes = [redrive_policy]

    precondition {
      condition     = var.log_bucket_name != null && var.log_bucket_arn != null
      error_message = "enable_s3_sqs_trigger needs log_bucket_name and log_bucket_arn (the trail module's log_bucket_name and log_bucket_arn)."
    }
    precondition {
      condition     = var.log_bucket_name == null || var.log_bucket_arn == null || endswith(coalesce(var.log_bucket_arn, "-"), ":::${coalesce(var.log_bucket_name, "-")}")
      error_message = "log_bucket_arn and log_bucket_name must name the same bucket."
    }
  }
}

resource "aws_sqs_queue_redrive_policy" "log_files" {
  # A message that failed 5 receives (each a Lambda attempt) moves to the dead-letter queue.
  count = local.s3_trigger_count

  queue_url = aws_sqs_queue.log_files[0].id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.log_files_dead_letter[0].arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue_policy" "log_files" {
  count = local.s3_trigger_count

  queue_url = aws_sqs_queue.log_files[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "LogBucketNotifications"
        Effect    = "Allow"
        Principal = { Service = "s3.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.log_files[0].arn
        Condition = {
          ArnEquals = { "aws:SourceArn" = var.log_bucket_arn }
        }
      },
      {
        Sid       = "DenyWithoutTLS"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.log_files[0].arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  # After the redrive policy: moto forgets a queue's policy when another attribute is set.
  depends_on = [aws_sqs_queue_redrive_policy.log_files]
}

resource "aws_s3_bucket_notification" "log_bucket" {
  # This resource owns the bucket's whole notification configuration.
  count = local.s3_trigger_count

  bucket = var.log_bucket_name

  queue {
    id            = "${var.name_prefix}-log-files"
    queue_arn     = aws_sqs_queue.log_files[0].arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "AWSLogs/"
    filter_suffix = ".json.gz"
  }

  depends_on = [aws_sqs_queue_policy.log_files]
}

resource "aws_lambda_event_source_mapping" "log_files" {
  count = local.s3_trigger_count

  event_source_arn        = aws_sqs_queue.log_files[0].arn
  function_name           = aws_lambda_function.this.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  depends_on = [aws_iam_role_policy.function]
}
