# Names and ARNs are built from known strings rather than resource attributes: the KMS key
# policy, the bucket policy and the CloudTrail role must name the trail and the log group
# before they exist (CloudTrail checks its bucket and key at creation), and this keeps them
# free of dependency cycles.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# Only read for organization trails: needs organizations:DescribeOrganization.
data "aws_organizations_organization" "current" {
  count = var.is_organization_trail ? 1 : 0
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix
  org_id     = var.is_organization_trail ? data.aws_organizations_organization.current[0].id : null

  trail_name = "${var.name_prefix}-trail"
  trail_arn  = "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.trail_name}"

  log_bucket_name        = "${var.name_prefix}-trail-${local.account_id}-${local.region}"
  log_bucket_arn         = "arn:${local.partition}:s3:::${local.log_bucket_name}"
  access_log_bucket_name = "${var.name_prefix}-trail-access-${local.account_id}-${local.region}"
  access_log_bucket_arn  = "arn:${local.partition}:s3:::${local.access_log_bucket_name}"
  # Server access logs of the log bucket land under this prefix of the access-log bucket.
  access_log_prefix = "${local.log_bucket_name}/"

  log_group_name = "/aws/cloudtrail/${var.name_prefix}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  # Log streams CloudTrail creates in the log group: "<account>_CloudTrail_<region>..." and,
  # for an organization trail, "<org-id>_<account>_CloudTrail_<region>...".
  cloudtrail_log_stream_arns = concat(
    ["${local.log_group_arn}:log-stream:${local.account_id}_CloudTrail_*"],
    var.is_organization_trail ? ["${local.log_group_arn}:log-stream:${local.org_id}_*"] : [],
  )
}
