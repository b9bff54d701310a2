variable "name_prefix" {
  description = "Prefix for every name the module creates (trail, buckets, key alias, log group, role). Lower case letters, digits and hyphens, 3-20 characters, starting with a letter: it ends up in S3 bucket names."
  type        = string
  default     = "trailguard"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower case letters, digits and hyphens, start with a letter and end with a letter or digit (it is part of S3 bucket names)."
  }

  validation {
    condition     = !can(regex("^(xn--|sthree|amzn-s3-demo)", var.name_prefix))
    error_message = "name_prefix must not start with \"xn--\", \"sthree\" or \"amzn-s3-demo\": S3 reserves those bucket name prefixes."
  }
}

variable "is_organization_trail" {
  description = "Create an organization trail that logs every account of the AWS Organization. Apply it from the management account (or a CloudTrail delegated administrator account) with trusted access for CloudTrail enabled in AWS Organizations."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days the trail's log files (and the S3 access logs of the log bucket) are kept before the lifecycle rule expires them. PCI DSS 10.5.1 requires at least 12 months."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number of at least 365: PCI DSS 10.5.1 requires 12 months of audit log history."
  }
}

variable "transition_to_glacier_days" {
  description = "Days after which log files move to S3 Glacier Flexible Retrieval. At least 90 so the latest three months stay immediately available (PCI DSS 10.5.1); must be less than log_retention_days."
  type        = number
  default     = 90

  validation {
    condition     = var.transition_to_glacier_days >= 90 && floor(var.transition_to_glacier_days) == var.transition_to_glacier_days
    error_message = "transition_to_glacier_days must be a whole number of at least 90: PCI DSS 10.5.1 wants the last three months of logs immediately available."
  }
}

variable "object_lock_enabled" {
  description = "Enable S3 Object Lock on the log bucket with a default retention (WORM). Object Lock can only be turned on when the bucket is created: changing this on an existing bucket replaces the bucket."
  type        = bool
  default     = false
}

variable "object_lock_mode" {
  description = "Default Object Lock retention mode when object_lock_enabled is true: GOVERNANCE (users with s3:BypassGovernanceRetention can still delete) or COMPLIANCE (nobody, root included, can delete a locked version before its retention ends)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock_mode)
    error_message = "object_lock_mode must be GOVERNANCE or COMPLIANCE."
  }
}

variable "object_lock_retention_days" {
  description = "Default Object Lock retention in days for new log files when object_lock_enabled is true. Must not exceed log_retention_days."
  type        = number
  default     = 365

  validation {
    condition     = var.object_lock_retention_days >= 1 && floor(var.object_lock_retention_days) == var.object_lock_retention_days
    error_message = "object_lock_retention_days must be a whole number of at least 1."
  }
}

variable "cloudwatch_log_retention_days" {
  description = "Retention of the trail's CloudWatch Logs log group, in days. One of the values CloudWatch Logs accepts that is at least 365 (365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653); PCI DSS 10.5.1."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_log_retention_days)
    error_message = "cloudwatch_log_retention_days must be at least 365 (PCI DSS 10.5.1) and one of the values CloudWatch Logs accepts: 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period, in days, before the KMS key is deleted after a destroy (7-30). Logs encrypted with a deleted key are unreadable forever."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "kms_deletion_window_days must be a whole number between 7 and 30."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the log buckets with all their objects and versions. Keep false for real audit logs; true is for test stacks. Has no effect on versions still under an Object Lock retention."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every taggable resource of the module (provider default_tags are left to the caller)."
  type        = map(string)
  default     = {}
}
