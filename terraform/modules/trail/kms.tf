# One customer-managed key encrypts the trail's log files (SSE-KMS, written by CloudTrail)
# and the CloudWatch Logs log group. The key policy lets those two services use it for this
# trail and this log group only. Everything else goes through IAM: the account-root
# statement (which AWS requires so the key can never become unmanageable) is what lets IAM
# policies in this account grant kms:Decrypt to log readers. No reader is granted anything
# by the key policy itself.

locals {
  kms_key_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EnableAccountRootAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "AllowCloudTrailToEncryptLogs"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "kms:GenerateDataKey*"
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceArn" = local.trail_arn }
          StringLike = {
            "kms:EncryptionContext:aws:cloudtrail:arn" = "arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/${local.trail_name}"
          }
        }
      },
      {
        Sid       = "AllowCloudTrailToDescribeKey"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "kms:DescribeKey"
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceArn" = local.trail_arn }
        }
      },
      {
        Sid       = "AllowCloudWatchLogsForTheTrailLogGroup"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.${local.dns_suffix}" }
        Action = [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ]
        Resource = "*"
        Condition = {
          ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn }
        }
      },
    ]
  })
}

resource "aws_kms_key" "this" {
  description              = "${var.name_prefix}: encrypts CloudTrail log files and the trail's CloudWatch Logs log group"
  key_usage                = "ENCRYPT_DECRYPT"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  enable_key_rotation      = true
  deletion_window_in_days  = var.kms_deletion_window_days
  # Inline (not aws_kms_key_policy) so the key exists with this policy before CloudTrail and
  # CloudWatch Logs check that they may use it.
  policy = local.kms_key_policy
  tags   = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}-trail"
  target_key_id = aws_kms_key.this.key_id
}
