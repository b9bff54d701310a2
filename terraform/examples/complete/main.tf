# trailguard, complete: a PCI DSS requirement 10 trail (modules/trail) watched by the
# trailguard function (modules/alerting) through a CloudWatch Logs subscription on the
# trail's log group, alerting to an SNS topic. See README.md and docs/deploy.md.

provider "aws" {
  region = var.region
}

module "trail" {
  source = "../../modules/trail"

  name_prefix                   = var.name_prefix
  is_organization_trail         = var.is_organization_trail
  log_retention_days            = var.log_retention_days
  transition_to_glacier_days    = var.transition_to_glacier_days
  object_lock_enabled           = var.object_lock_enabled
  object_lock_mode              = var.object_lock_mode
  object_lock_retention_days    = var.object_lock_retention_days
  cloudwatch_log_retention_days = var.cloudwatch_log_retention_days
  force_destroy                 = var.force_destroy
  tags                          = var.tags
}

module "alerting" {
  source = "../../modules/alerting"

  name_prefix     = var.name_prefix
  lambda_zip_path = var.lambda_zip_path

  trail_log_group_name = module.trail.log_group_name
  trail_log_group_arn  = module.trail.log_group_arn

  config_yaml           = var.config_yaml
  alert_min_severity    = var.alert_min_severity
  secret_arns           = var.secret_arns
  secret_kms_key_arns   = var.secret_kms_key_arns
  alert_email_addresses = var.alert_email_addresses
  deadman_minutes       = var.deadman_minutes

  enable_cis_metric_filters  = var.enable_cis_metric_filters
  enable_eventbridge_trigger = var.enable_eventbridge_trigger
  enable_securityhub         = var.enable_securityhub

  # The trail's bucket notifies the function's queue of each new log file; the same queue
  # takes `trailguard backfill` messages for the archive (docs/backfill.md).
  enable_s3_sqs_trigger = var.enable_s3_sqs_trigger
  log_bucket_name       = var.enable_s3_sqs_trigger ? module.trail.log_bucket_name : null
  log_bucket_arn        = var.enable_s3_sqs_trigger ? module.trail.log_bucket_arn : null
  trail_kms_key_arn     = module.trail.kms_key_arn

  tags = var.tags
}
