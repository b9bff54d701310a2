# trailguard itself: the Lambda function that reads the trail and alerts, with its
# triggers, configuration, state, alert topic, alarms and least-privilege role.
# Resources are split by concern: kms.tf, lambda.tf, iam.tf, config.tf, state.tf, sns.tf,
# triggers.tf, s3_trigger.tf, eventbridge.tf, alarms.tf, cis.tf, securityhub.tf.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  function_name         = var.name_prefix
  function_log_group    = "/aws/lambda/${var.name_prefix}"
  config_parameter_name = "/${var.name_prefix}/config"

  # The module's CMK unless the caller brings one.
  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  # The trail module may output the log group ARN with CloudTrail's trailing ":*".
  trail_log_group_arn = trimsuffix(var.trail_log_group_arn, ":*")
  # The name inside the ARN, checked against trail_log_group_name (a precondition).
  trail_log_group_arn_name = regex("log-group:(.+)$", local.trail_log_group_arn)[0]

  secretsmanager_arns = [for arn in var.secret_arns : arn if can(regex("^arn:[^:]+:secretsmanager:", arn))]
  ssm_secret_arns     = [for arn in var.secret_arns : arn if can(regex("^arn:[^:]+:ssm:", arn))]

  securityhub_product_arn = "arn:${local.partition}:securityhub:${local.region}:${local.account_id}:product/${local.account_id}/default"

  # CloudTrail's detail-types on EventBridge that the handler reads as records
  # (src/trailguard/sources/eventbridge.py).
  cloudtrail_detail_types = [
    "AWS API Call via CloudTrail",
    "AWS Console Sign In via CloudTrail",
    "AWS Service Event via CloudTrail",
    "AWS Console Action via CloudTrail",
    "AWS Insight via CloudTrail",
  ]
}
