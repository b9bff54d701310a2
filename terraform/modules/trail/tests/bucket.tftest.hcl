# The log bucket and the access-log bucket, planned offline against a mock provider.
# Needs Terraform >= 1.11 for override_during.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

run "log_bucket_defaults" {
  command = plan

  assert {
    condition     = aws_s3_bucket.log.bucket == "trailguard-trail-111122223333-eu-west-1" && output.log_bucket_name == aws_s3_bucket.log.bucket
    error_message = "The log bucket is not named <prefix>-trail-<account>-<region>."
  }
  assert {
    condition     = aws_s3_bucket.log.force_destroy == false && aws_s3_bucket.access_logs.force_destroy == false
    error_message = "Log buckets must not be force-destroyable by default."
  }

  # PCI DSS 10.3.2 / 10.3.3: versioning, SSE-KMS with the module key, no public access, no ACLs.
  assert {
    condition     = aws_s3_bucket_versioning.log.versioning_configuration[0].status == "Enabled"
    error_message = "The log bucket must be versioned."
  }
  assert {
    condition = one([
      for r in aws_s3_bucket_server_side_encryption_configuration.log.rule : r.apply_server_side_encryption_by_default[0]
      if r.bucket_key_enabled
      ]) == {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = "arn:aws:kms:eu-west-1:111122223333:key/0d2b4d36-8d0a-4a8e-9d0e-6f4c1f0b1a11"
    }
    error_message = "The log bucket must default to SSE-KMS with the module's key and an S3 Bucket Key."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.log.block_public_acls
      && aws_s3_bucket_public_access_block.log.block_public_policy
      && aws_s3_bucket_public_access_block.log.ignore_public_acls
      && aws_s3_bucket_public_access_block.log.restrict_public_buckets
    )
    error_message = "All four Block Public Access settings must be on for the log bucket."
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.log.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "The log bucket must disable ACLs (BucketOwnerEnforced)."
  }

  # PCI DSS 10.5.1: at least a year, the first 90 days in S3 Standard.
  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.log.rule[0].status == "Enabled"
      && aws_s3_bucket_lifecycle_configuration.log.rule[0].expiration[0].days >= 365
      && aws_s3_bucket_lifecycle_configuration.log.rule[0].noncurrent_version_expiration[0].noncurrent_days >= 365
    )
    error_message = "Log files and their noncurrent versions must be kept at least 365 days."
  }
  assert {
    condition = (
      one(aws_s3_bucket_lifecycle_configuration.log.rule[0].transition).days == 90
      && one(aws_s3_bucket_lifecycle_configuration.log.rule[0].transition).storage_class == "GLACIER"
      && one(aws_s3_bucket_lifecycle_configuration.log.rule[0].noncurrent_version_transition).noncurrent_days == 90
    )
    error_message = "Log files must move to GLACIER after 90 days, not before."
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.log.rule[1].expiration[0].expired_object_delete_marker
    error_message = "Expired delete markers must be cleaned up."
  }

  # Object Lock is off unless asked.
  assert {
    condition     = aws_s3_bucket.log.object_lock_enabled == false && length(aws_s3_bucket_object_lock_configuration.log) == 0
    error_message = "Object Lock must be off by default."
  }

  # The bucket policy: TLS only, CloudTrail's ACL check and writes for this trail only.
  assert {
    condition = [for s in jsondecode(aws_s3_bucket_policy.log.policy).Statement : s.Sid] == [
      "DenyInsecureTransport", "AWSCloudTrailAclCheck", "AWSCloudTrailWrite",
    ]
    error_message = "A single-account trail's bucket policy must hold exactly the TLS deny and CloudTrail's two statements."
  }
  assert {
    condition = jsondecode(aws_s3_bucket_policy.log.policy).Statement[0] == {
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = { AWS = "*" }
      Action    = "s3:*"
      Resource = [
        "arn:aws:s3:::trailguard-trail-111122223333-eu-west-1",
        "arn:aws:s3:::trailguard-trail-111122223333-eu-west-1/*",
      ]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }
    error_message = "The log bucket must deny every request without TLS."
  }
  assert {
    condition = jsondecode(aws_s3_bucket_policy.log.policy).Statement[1] == {
      Sid       = "AWSCloudTrailAclCheck"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "s3:GetBucketAcl"
      Resource  = "arn:aws:s3:::trailguard-trail-111122223333-eu-west-1"
      Condition = { StringEquals = { "aws:SourceArn" = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/trailguard-trail" } }
    }
    error_message = "CloudTrail's GetBucketAcl must be scoped to this trail."
  }
  assert {
    condition = jsondecode(aws_s3_bucket_policy.log.policy).Statement[2] == {
      Sid       = "AWSCloudTrailWrite"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::trailguard-trail-111122223333-eu-west-1/AWSLogs/111122223333/*"
      Condition = {
        StringEquals = {
          "s3:x-amz-acl"  = "bucket-owner-full-control"
          "aws:SourceArn" = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/trailguard-trail"
        }
      }
    }
    error_message = "CloudTrail may only write this trail's files under AWSLogs/<account>/."
  }

  # Server access logs of the log bucket go to the access-log bucket.
  assert {
    condition = (
      aws_s3_bucket_logging.log.bucket == aws_s3_bucket.log.bucket
      && aws_s3_bucket_logging.log.target_bucket == "trailguard-trail-access-111122223333-eu-west-1"
      && aws_s3_bucket_logging.log.target_prefix == "trailguard-trail-111122223333-eu-west-1/"
    )
    error_message = "The log bucket's server access logs must go to the access-log bucket."
  }
}

run "access_log_bucket" {
  command = plan

  assert {
    condition     = aws_s3_bucket.access_logs.bucket == "trailguard-trail-access-111122223333-eu-west-1" && output.access_log_bucket_name == aws_s3_bucket.access_logs.bucket
    error_message = "The access-log bucket is not named <prefix>-trail-access-<account>-<region>."
  }
  assert {
    condition     = aws_s3_bucket_versioning.access_logs.versioning_configuration[0].status == "Enabled"
    error_message = "The access-log bucket must be versioned."
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.access_logs.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "The access-log bucket must use SSE-S3, the encryption S3 documents for server access log destinations."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.access_logs.block_public_acls
      && aws_s3_bucket_public_access_block.access_logs.block_public_policy
      && aws_s3_bucket_public_access_block.access_logs.ignore_public_acls
      && aws_s3_bucket_public_access_block.access_logs.restrict_public_buckets
    )
    error_message = "All four Block Public Access settings must be on for the access-log bucket."
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.access_logs.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "The access-log bucket must disable ACLs (BucketOwnerEnforced)."
  }
  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].expiration[0].days == 365
      && aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].noncurrent_version_expiration[0].noncurrent_days == 365
    )
    error_message = "Access logs (the record of access to the audit logs) must be kept as long as the logs."
  }
  assert {
    condition = jsondecode(aws_s3_bucket_policy.access_logs.policy).Statement[0] == {
      Sid       = "S3ServerAccessLogsPolicy"
      Effect    = "Allow"
      Principal = { Service = "logging.s3.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::trailguard-trail-access-111122223333-eu-west-1/trailguard-trail-111122223333-eu-west-1/*"
      Condition = {
        ArnLike      = { "aws:SourceArn" = "arn:aws:s3:::trailguard-trail-111122223333-eu-west-1" }
        StringEquals = { "aws:SourceAccount" = "111122223333" }
      }
    }
    error_message = "The logging service may only write the log bucket's access logs under its prefix."
  }
  assert {
    condition = (
      jsondecode(aws_s3_bucket_policy.access_logs.policy).Statement[1].Effect == "Deny"
      && jsondecode(aws_s3_bucket_policy.access_logs.policy).Statement[1].Condition == { Bool = { "aws:SecureTransport" = "false" } }
      && length(jsondecode(aws_s3_bucket_policy.access_logs.policy).Statement) == 2
    )
    error_message = "The access-log bucket must deny requests without TLS and allow nothing else."
  }
}

run "custom_retention" {
  command = plan

  variables {
    log_retention_days         = 2555
    transition_to_glacier_days = 180
  }

  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.log.rule[0].expiration[0].days == 2555
      && aws_s3_bucket_lifecycle_configuration.log.rule[0].noncurrent_version_expiration[0].noncurrent_days == 2555
      && one(aws_s3_bucket_lifecycle_configuration.log.rule[0].transition).days == 180
      && aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].expiration[0].days == 2555
    )
    error_message = "log_retention_days and transition_to_glacier_days must reach the lifecycle rules."
  }
}

run "object_lock_governance_by_default" {
  command = plan

  variables {
    object_lock_enabled = true
  }

  assert {
    condition     = aws_s3_bucket.log.object_lock_enabled
    error_message = "object_lock_enabled must enable Object Lock when the bucket is created."
  }
  assert {
    condition = (
      length(aws_s3_bucket_object_lock_configuration.log) == 1
      && aws_s3_bucket_object_lock_configuration.log[0].rule[0].default_retention[0].mode == "GOVERNANCE"
      && aws_s3_bucket_object_lock_configuration.log[0].rule[0].default_retention[0].days == 365
    )
    error_message = "Object Lock must default to GOVERNANCE retention for object_lock_retention_days."
  }
}

run "object_lock_compliance" {
  command = plan

  variables {
    object_lock_enabled        = true
    object_lock_mode           = "COMPLIANCE"
    object_lock_retention_days = 400
    log_retention_days         = 400
  }

  assert {
    condition = (
      aws_s3_bucket_object_lock_configuration.log[0].rule[0].default_retention[0].mode == "COMPLIANCE"
      && aws_s3_bucket_object_lock_configuration.log[0].rule[0].default_retention[0].days == 400
    )
    error_message = "object_lock_mode and object_lock_retention_days must reach the default retention."
  }
}

run "force_destroy_for_test_stacks" {
  command = plan

  variables {
    force_destroy = true
  }

  assert {
    condition     = aws_s3_bucket.log.force_destroy && aws_s3_bucket.access_logs.force_destroy
    error_message = "force_destroy must reach both buckets."
  }
}
