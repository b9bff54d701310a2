# The function's role: exactly what trailguard calls, on exactly its own resources.
# Each statement names the code that needs it.

locals {
  function_policy_statements = concat(
    [
      {
        # Its own log group only (created above, so no logs:CreateLogGroup).
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.function.arn}:*"
      },
      {
        # aws_lambda.load_lambda_config: get_parameter(Name, WithDecryption=True).
        Sid      = "ReadOwnConfiguration"
        Effect   = "Allow"
        Action   = "ssm:GetParameter"
        Resource = aws_ssm_parameter.config.arn
      },
      {
        # Environment decryption, the encrypted topic (sns:Publish), the encrypted
        # dead-letter and notification queues, the state table.
        Sid      = "UseTheModuleKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = local.kms_key_arn
      },
      {
        # state/dynamodb.py: exactly these three calls.
        Sid      = "StateTable"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"]
        Resource = aws_dynamodb_table.state.arn
      },
      {
        # sinks/sns.py: PublishBatch is authorised as sns:Publish.
        Sid      = "PublishAlerts"
        Effect   = "Allow"
        Action   = "sns:Publish"
        Resource = aws_sns_topic.alerts.arn
      },
      {
        # The on-failure destination is written with the function's role.
        Sid      = "OnFailureDestination"
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.dead_letter.arn
      },
    ],
    length(local.secretsmanager_arns) > 0 ? [
      {
        # secrets.py: secretsmanager:NAME references of the configuration.
        Sid      = "ReadReferencedSecrets"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = local.secretsmanager_arns
      },
    ] : [],
    length(local.ssm_secret_arns) > 0 ? [
      {
        # secrets.py: ssm:/NAME references (SecureString parameters).
        Sid      = "ReadReferencedParameters"
        Effect   = "Allow"
        Action   = "ssm:GetParameter"
        Resource = local.ssm_secret_arns
      },
    ] : [],
    length(var.secret_kms_key_arns) > 0 ? [
      {
        Sid      = "DecryptReferencedSecrets"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.secret_kms_key_arns
        Condition = {
          StringEquals = {
            "kms:ViaService" = [
              "secretsmanager.${local.region}.amazonaws.com",
              "ssm.${local.region}.amazonaws.com",
            ]
          }
        }
      },
    ] : [],
    var.enable_s3_sqs_trigger ? [
      {
        # sources/s3_objects.py: GetObject on log files (GetObjectVersion when a
        # notification names a version).
        Sid      = "ReadTrailLogFiles"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = "${var.log_bucket_arn}/AWSLogs/*"
      },
      {
        # The event source mapping polls with the function's role.
        Sid      = "ConsumeLogFileQueue"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
        Resource = aws_sqs_queue.log_files[0].arn
      },
    ] : [],
    var.enable_s3_sqs_trigger && var.trail_kms_key_arn != null ? [
      {
        # SSE-KMS log files: decrypt through S3 only.
        Sid      = "DecryptTrailLogFiles"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.trail_kms_key_arn
        # S3 notifications reach a queue only in the bucket's region, this one.
        Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" } }
      },
    ] : [],
    var.enable_securityhub ? [
      {
        # sinks/securityhub.py: findings through the account's default product.
        Sid      = "ImportFindings"
        Effect   = "Allow"
        Action   = "securityhub:BatchImportFindings"
        Resource = local.securityhub_product_arn
      },
    ] : [],
  )
}

resource "aws_iam_role" "function" {
  name        = "${var.name_prefix}-function"
  description = "trailguard's Lambda function"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = "sts:AssumeRole"
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "function" {
  name = "${var.name_prefix}-function"
  role = aws_iam_role.function.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.function_policy_statements
  })
}
