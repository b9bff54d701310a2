# The bucket that receives S3 server access logs of the log bucket: the record of who read
# or touched the audit logs (PCI DSS 10.2.1.3). It keeps them as long as the logs themselves.

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the server access log destination; logging it to itself or to yet another bucket would only repeat the problem one level down.
  #checkov:skip=CKV_AWS_145:S3 documents SSE-S3 as the default encryption supported for server access log destination buckets, so this bucket uses SSE-S3 (AES256) rather than the module's KMS key.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a deployment choice left to the caller, as for the log bucket.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events from the access-log bucket; notifications would have no subscriber.
  bucket        = local.access_log_bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  rule {
    # No ACLs: log delivery is granted by the bucket policy below instead of the LogDelivery group.
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.bucket
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  rule {
    id     = "retain-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.log_retention_days
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

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

locals {
  # The logging-service statement keeps a single-string Principal.Service and Resource: the
  # shape S3 documents, and the only one moto's bucket-logging permission check recognises.
  access_log_bucket_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "S3ServerAccessLogsPolicy"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${local.access_log_bucket_arn}/${local.access_log_prefix}*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = local.log_bucket_arn }
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "s3:*"
        Resource  = [local.access_log_bucket_arn, "${local.access_log_bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket
  policy = local.access_log_bucket_policy

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
