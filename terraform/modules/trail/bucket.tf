# The bucket CloudTrail delivers log files (and digest files) to.

resource "aws_s3_bucket" "log" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a deployment choice (a second region and account to copy to) left to the caller; versioning, SSE-KMS and the optional Object Lock protect the logs here.
  #checkov:skip=CKV2_AWS_62:Event notifications are optional: the alerting module adds its own S3-to-SQS notification when enable_s3_sqs_trigger is set; the trail reaches the alerting through CloudWatch Logs.
  bucket = local.log_bucket_name
  # Object Lock can only be enabled when the bucket is created (changing it replaces the bucket).
  object_lock_enabled = var.object_lock_enabled
  force_destroy       = var.force_destroy
  tags                = var.tags
}

resource "aws_s3_bucket_ownership_controls" "log" {
  bucket = aws_s3_bucket.log.bucket

  rule {
    # ACLs disabled: the bucket owner owns every object, CloudTrail's included.
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "log" {
  bucket                  = aws_s3_bucket.log.bucket
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "log" {
  bucket = aws_s3_bucket.log.bucket

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "log" {
  bucket = aws_s3_bucket.log.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    # One data key per bucket instead of one KMS call per object: cuts KMS request costs.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_object_lock_configuration" "log" {
  count  = var.object_lock_enabled ? 1 : 0
  bucket = aws_s3_bucket.log.bucket

  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_retention_days
    }
  }

  lifecycle {
    precondition {
      condition     = var.object_lock_retention_days <= var.log_retention_days
      error_message = "object_lock_retention_days (${var.object_lock_retention_days}) must not exceed log_retention_days (${var.log_retention_days})."
    }
  }

  depends_on = [aws_s3_bucket_versioning.log]
}

resource "aws_s3_bucket_lifecycle_configuration" "log" {
  bucket = aws_s3_bucket.log.bucket

  rule {
    id     = "retain-audit-logs"
    status = "Enabled"

    filter {}

    transition {
      days          = var.transition_to_glacier_days
      storage_class = "GLACIER"
    }

    expiration {
      days = var.log_retention_days
    }

    # A deleted or overwritten log file stays recoverable for the whole retention period.
    noncurrent_version_transition {
      noncurrent_days = var.transition_to_glacier_days
      storage_class   = "GLACIER"
    }

    noncurrent_version_expiration {
      noncurrent_days = var.log_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"

    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }

  lifecycle {
    precondition {
      condition     = var.transition_to_glacier_days < var.log_retention_days
      error_message = "transition_to_glacier_days (${var.transition_to_glacier_days}) must be less than log_retention_days (${var.log_retention_days}): S3 rejects an expiration that does not come after the transition."
    }
  }

  depends_on = [aws_s3_bucket_versioning.log]
}

locals {
  # "Principal": {"AWS": "*"} rather than "*": IAM treats both alike, and moto's bucket
  # logging check cannot parse the bare string form in a target bucket's policy.
  log_bucket_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "DenyInsecureTransport"
          Effect    = "Deny"
          Principal = { AWS = "*" }
          Action    = "s3:*"
          Resource  = [local.log_bucket_arn, "${local.log_bucket_arn}/*"]
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
        {
          Sid       = "AWSCloudTrailAclCheck"
          Effect    = "Allow"
          Principal = { Service = "cloudtrail.amazonaws.com" }
          Action    = "s3:GetBucketAcl"
          Resource  = local.log_bucket_arn
          Condition = { StringEquals = { "aws:SourceArn" = local.trail_arn } }
        },
        {
          Sid       = "AWSCloudTrailWrite"
          Effect    = "Allow"
          Principal = { Service = "cloudtrail.amazonaws.com" }
          Action    = "s3:PutObject"
          Resource  = "${local.log_bucket_arn}/AWSLogs/${local.account_id}/*"
          Condition = {
            StringEquals = {
              "s3:x-amz-acl"  = "bucket-owner-full-control"
              "aws:SourceArn" = local.trail_arn
            }
          }
        },
      ],
      var.is_organization_trail ? [
        {
          Sid       = "AWSCloudTrailOrganizationWrite"
          Effect    = "Allow"
          Principal = { Service = "cloudtrail.amazonaws.com" }
          Action    = "s3:PutObject"
          Resource  = "${local.log_bucket_arn}/AWSLogs/${local.org_id}/*"
          Condition = {
            StringEquals = {
              "s3:x-amz-acl"  = "bucket-owner-full-control"
              "aws:SourceArn" = local.trail_arn
            }
          }
        },
      ] : [],
    )
  })
}

resource "aws_s3_bucket_policy" "log" {
  bucket = aws_s3_bucket.log.bucket
  policy = local.log_bucket_policy

  depends_on = [aws_s3_bucket_public_access_block.log]
}

resource "aws_s3_bucket_logging" "log" {
  bucket        = aws_s3_bucket.log.bucket
  target_bucket = aws_s3_bucket.access_logs.bucket
  target_prefix = local.access_log_prefix

  # S3 checks the target's policy grants the logging service before accepting this.
  depends_on = [
    aws_s3_bucket_policy.access_logs,
    aws_s3_bucket_ownership_controls.access_logs,
  ]
}
