variable "region" {
  description = "The AWS region to deploy into; null takes the region of the environment (AWS_REGION, the profile). A multi-region trail records every region from here."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name (trail, buckets, log groups, function, topic, table): 3-20 characters of a-z, 0-9 and -, starting with a letter (the modules check it)."
  type        = string
  default     = "trailguard"
}

variable "lambda_zip_path" {
  description = "Path of the function's deployment package, built by `make lambda-zip` (tools/build_lambda_zip.py)."
  type        = string
}

variable "is_organization_trail" {
  description = "Make the trail an AWS Organizations trail (apply in the management account or the CloudTrail delegated administrator account)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days the trail's log files are kept in S3 (PCI DSS 10.5.1: at least 365)."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "PCI DSS 10.5.1 needs at least 12 months of audit log history: log_retention_days >= 365."
  }
}

variable "transition_to_glacier_days" {
  description = "Days after which log files move to S3 Glacier Flexible Retrieval (PCI DSS 10.5.1: the last 3 months stay immediately available)."
  type        = number
  default     = 90
}

variable "object_lock_enabled" {
  description = "Create the log bucket with S3 Object Lock (compliance mode): log files cannot be deleted or overwritten before object_lock_retention_days. Cannot be turned off once the bucket exists."
  type        = bool
  default     = false
}

variable "object_lock_mode" {
  description = "Object Lock default retention mode (with object_lock_enabled): GOVERNANCE, or COMPLIANCE (nobody, root included, can delete a log file before its retention ends)."
  type        = string
  default     = "GOVERNANCE"
}

variable "object_lock_retention_days" {
  description = "Default Object Lock retention of each log file, in days (with object_lock_enabled)."
  type        = number
  default     = 365
}

variable "cloudwatch_log_retention_days" {
  description = "Days the trail's CloudWatch Logs log group keeps events (PCI DSS 10.5.1: at least 365)."
  type        = number
  default     = 365

  validation {
    condition     = var.cloudwatch_log_retention_days >= 365
    error_message = "PCI DSS 10.5.1 needs at least 12 months of audit log history: cloudwatch_log_retention_days >= 365."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the log buckets with their log files. Keep false for real trails (audit evidence); the tests set true."
  type        = bool
  default     = false
}

variable "config_yaml" {
  description = "trailguard's YAML configuration (docs/configuration.md), stored in an SSM parameter the function reads; null: the alerting module's default (an sns sink to the alert topic, a log sink, DynamoDB state)."
  type        = string
  default     = null
}

variable "alert_min_severity" {
  description = "Lowest severity the default configuration publishes to the alert topic (info, low, medium, high, critical); the function's log keeps every alert. Ignored when config_yaml is set."
  type        = string
  default     = "high"
}

variable "secret_arns" {
  description = "ARNs of the Secrets Manager secrets and SSM SecureString parameters the configuration references (Slack webhook, signing keys); the function may read exactly these."
  type        = list(string)
  default     = []
}

variable "secret_kms_key_arns" {
  description = "ARNs of the customer managed KMS keys encrypting the secrets of secret_arns, if any (the function may decrypt with them through Secrets Manager and SSM only)."
  type        = list(string)
  default     = []
}

variable "alert_email_addresses" {
  description = "Email addresses subscribed to the alert topic; each must confirm the subscription from the mail AWS sends."
  type        = list(string)
  default     = []
}

variable "deadman_minutes" {
  description = "Alarm when the function has not been invoked for this many minutes: the trail, the subscription or the function has stopped (PCI DSS 10.7.2)."
  type        = number
  default     = 60
}

variable "enable_cis_metric_filters" {
  description = "Also create the CIS AWS Foundations Benchmark metric filters and alarms on the trail's log group."
  type        = bool
  default     = false
}

variable "enable_s3_sqs_trigger" {
  description = "Create the SQS queue that the trail bucket's notifications (and `trailguard backfill`) feed to the function."
  type        = bool
  default     = false
}

variable "enable_eventbridge_trigger" {
  description = "Also invoke the function from an EventBridge rule on CloudTrail events (the default bus)."
  type        = bool
  default     = false
}

variable "enable_securityhub" {
  description = "Let the function import findings into AWS Security Hub (the configuration must add a securityhub sink); enables Security Hub in the account."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
