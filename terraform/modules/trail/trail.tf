resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_252:No per-log-file SNS notification: trailguard reads the trail through the CloudWatch Logs subscription (and optionally S3 event notifications), so an SNS topic would have no consumer.
  name                          = local.trail_name
  s3_bucket_name                = aws_s3_bucket.log.bucket
  kms_key_id                    = aws_kms_key.this.arn
  enable_logging                = true
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  is_organization_trail         = var.is_organization_trail

  # CloudTrail wants the log group ARN with the ":*" suffix.
  cloud_watch_logs_group_arn = "${aws_cloudwatch_log_group.this.arn}:*"
  cloud_watch_logs_role_arn  = aws_iam_role.cloudtrail_cloudwatch.arn

  # All management events, read and write, from every service (KMS and RDS Data API included).
  event_selector {
    read_write_type           = "All"
    include_management_events = true
  }

  tags = var.tags

  lifecycle {
    # An organization trail created by a delegated administrator belongs to the management
    # account, so its ARN (and the bucket path CloudTrail writes to) would not carry this
    # account's id, which the key and bucket policies are built from.
    precondition {
      condition     = !var.is_organization_trail || try(data.aws_organizations_organization.current[0].master_account_id == local.account_id, false)
      error_message = "is_organization_trail = true must be applied from the organization's management account: the key and bucket policies name the trail by this account's id, and a trail created by a delegated administrator is owned by the management account."
    }
  }

  # CloudTrail checks at creation that it may write to the bucket, use the key and assume
  # the role; the default encryption must be in place before the first file lands.
  depends_on = [
    aws_s3_bucket_policy.log,
    aws_s3_bucket_server_side_encryption_configuration.log,
    aws_s3_bucket_ownership_controls.log,
    aws_iam_role_policy.cloudtrail_cloudwatch,
  ]
}
