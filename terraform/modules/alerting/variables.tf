variable "name_prefix" {
  description = "Name of the function and prefix of every other resource's name (queues, topic, table, role, parameter /NAME_PREFIX/config). The detection rule threats.trailguard_tampering recognises trailguard's resources by the word `trailguard` in their names: with another prefix, copy that rule (see its description)."
  type        = string
  default     = "trailguard"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and hold 1 to 40 letters, digits, '-' or '_' (it names the function, queues, topic, table and role)."
  }
}

variable "lambda_zip_path" {
  description = "Path of the deployment package built by `make lambda-zip` (tools/build_lambda_zip.py, default dist/trailguard-lambda.zip). Its hash (filebase64sha256) is the function's source_code_hash, so a new build is deployed by the next apply."
  type        = string

  validation {
    condition     = fileexists(var.lambda_zip_path)
    error_message = "lambda_zip_path names no file: build the package first (`make lambda-zip`, or `python tools/build_lambda_zip.py --output PATH`)."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the function. The package's compiled dependencies (orjson, PyYAML) are built for one Python version: build with the same one (`tools/build_lambda_zip.py --python-version 3.12` for python3.12)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[1-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be a Python runtime trailguard supports: python3.11 or later (e.g. python3.12)."
  }
}

variable "trail_log_group_name" {
  description = "Name of the CloudWatch Logs group the trail delivers to (the trail module's log_group_name). The module subscribes the function to it with an empty filter pattern (every event) and, when enable_cis_metric_filters is true, puts the CIS metric filters on it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.trail_log_group_name))
    error_message = "trail_log_group_name must be a CloudWatch Logs group name (1 to 512 of A-Z a-z 0-9 _ - / . #)."
  }
}

variable "trail_log_group_arn" {
  description = "ARN of that log group (the trail module's log_group_arn), with or without the trailing `:*`. It scopes the permission that lets CloudWatch Logs invoke the function."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[A-Za-z0-9_./#-]+(:\\*)?$", var.trail_log_group_arn))
    error_message = "trail_log_group_arn must be a log group ARN: arn:aws:logs:REGION:ACCOUNT:log-group:NAME (optionally ending in :*)."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the function's log group, environment, queues, topic and table. Null (the default): the module creates its own key, with rotation, whose policy lets CloudWatch Logs, CloudWatch alarms, S3 and EventBridge use it as they need. A key of yours needs the same key policy statements (README.md)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); an alias is not accepted because key policies and IAM policies need the key ARN."
  }
}

variable "config_yaml" {
  description = "trailguard's configuration (docs/configuration.md) as YAML, stored in the SSM parameter /NAME_PREFIX/config (type String: it must hold no secrets, only references such as `secretsmanager:NAME`); the function reads it through TRAILGUARD_CONFIG=ssm:/NAME_PREFIX/config. Null (the default): a log sink, an sns sink to the module's topic at alert_min_severity (plus a securityhub sink when enable_securityhub), and the DynamoDB state table."
  type        = string
  default     = null

  validation {
    condition     = var.config_yaml == null || can(yamldecode(var.config_yaml))
    error_message = "config_yaml must be valid YAML."
  }

  validation {
    condition     = var.config_yaml == null || length(coalesce(var.config_yaml, " ")) <= 8192
    error_message = "config_yaml must be at most 8 KB (the size limit of an advanced SSM parameter)."
  }
}

variable "alert_min_severity" {
  description = "Lowest severity the default configuration's sns (and securityhub) sinks deliver; the log sink keeps every alert. Ignored when config_yaml is set."
  type        = string
  default     = "high"

  validation {
    condition     = contains(["info", "low", "medium", "high", "critical"], var.alert_min_severity)
    error_message = "alert_min_severity must be one of info, low, medium, high, critical."
  }
}

variable "secret_arns" {
  description = "ARNs of the Secrets Manager secrets and SSM parameters (SecureString) the configuration references (Slack webhook URL, webhook signing key, ...). The function may read exactly these: secretsmanager:GetSecretValue on the secrets, ssm:GetParameter on the parameters. A secret's ARN ends with a random suffix: give the full ARN, or NAME-?????? in its place."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for arn in var.secret_arns :
      can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+|ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+)$", arn))
    ])
    error_message = "Each of secret_arns must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX) or an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); no wildcards of accounts or services."
  }
}

variable "secret_kms_key_arns" {
  description = "ARNs of the customer managed KMS keys that encrypt the secrets of secret_arns, if any: the function gets kms:Decrypt on them, only through Secrets Manager and SSM (kms:ViaService). Secrets under the AWS managed keys need nothing here."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.secret_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", arn))])
    error_message = "Each of secret_kms_key_arns must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "alert_email_addresses" {
  description = "Email addresses subscribed to the alert topic (each must confirm the subscription from the mail AWS sends). Security Hub's CloudWatch.1-14 controls pass only when the alarms' topic has a subscriber."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.alert_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "Each of alert_email_addresses must be an email address."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function: guarantees it capacity when the account is busy and caps what a flood of events can cost. The Throttles alarm fires when it is too low."
  type        = number
  default     = 10

  validation {
    condition     = var.reserved_concurrency >= 1 && var.reserved_concurrency == floor(var.reserved_concurrency)
    error_message = "reserved_concurrency must be a whole number of at least 1 (0 would stop the function altogether)."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (CPU grows with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && var.memory_size == floor(var.memory_size)
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of the function in seconds. The S3 notification queue's visibility timeout is six times this (AWS's advice)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900 && var.timeout_seconds == floor(var.timeout_seconds)
    error_message = "timeout_seconds must be a whole number from 1 to 900."
  }
}

variable "deadman_minutes" {
  description = "The deadman alarm fires when the function received no invocation for this many minutes: a silent trail is an incident (PCI DSS 10.7.2). Set it above the longest quiet spell the account's CloudTrail traffic has."
  type        = number
  default     = 60

  validation {
    condition     = var.deadman_minutes >= 5 && var.deadman_minutes <= 1440 && var.deadman_minutes == floor(var.deadman_minutes)
    error_message = "deadman_minutes must be a whole number from 5 to 1440 (one day, the longest alarm period)."
  }
}

variable "enable_cis_metric_filters" {
  description = "Create the 14 CIS metric filters on the trail's log group, with an alarm on each to the alert topic, exactly as Security Hub's controls CloudWatch.1 to CloudWatch.14 check them (namespace CISBenchmark)."
  type        = bool
  default     = false
}

variable "enable_s3_sqs_trigger" {
  description = "Also read the trail's log files from S3: an SQS queue (KMS, with its own dead-letter queue) receives the log bucket's ObjectCreated notifications for AWSLogs/, and invokes the function. `trailguard backfill --queue` sends to the same queue (output s3_notification_queue_url). The module then owns the bucket's notification configuration (aws_s3_bucket_notification): nothing else may define notifications on that bucket."
  type        = bool
  default     = false
}

variable "log_bucket_name" {
  description = "Name of the trail's log bucket; required when enable_s3_sqs_trigger is true."
  type        = string
  default     = null

  validation {
    condition     = var.log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.log_bucket_name))
    error_message = "log_bucket_name must be null or an S3 bucket name."
  }
}

variable "log_bucket_arn" {
  description = "ARN of the trail's log bucket (arn:aws:s3:::NAME); required when enable_s3_sqs_trigger is true."
  type        = string
  default     = null

  validation {
    condition     = var.log_bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.log_bucket_arn))
    error_message = "log_bucket_arn must be null or an S3 bucket ARN (arn:aws:s3:::NAME)."
  }
}

variable "trail_kms_key_arn" {
  description = "ARN of the KMS key the trail encrypts its log files with (the trail module's kms_key_arn). With the S3 trigger on, the function gets kms:Decrypt on it, through S3 only (kms:ViaService). Null: the log files are not encrypted with a customer managed key."
  type        = string
  default     = null

  validation {
    condition     = var.trail_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.trail_kms_key_arn))
    error_message = "trail_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "enable_eventbridge_trigger" {
  description = "Also invoke the function from an EventBridge rule on the CloudTrail events of the default event bus (detail-types `AWS API Call via CloudTrail`, console sign-in, service events, console actions, Insights). EventBridge only sees the events of its own region (global services: us-east-1). With the log group subscription on too, each record arrives twice and the DynamoDB state drops the second alert as a duplicate."
  type        = bool
  default     = false
}

variable "enable_securityhub" {
  description = "Turn on Security Hub in this account and region (aws_securityhub_account), let the function import findings (securityhub:BatchImportFindings on the account's default product), and add a securityhub sink to the default configuration. Leave false where Security Hub is already managed elsewhere (an organization's delegated administrator): then add the sink through config_yaml and the permission through your own policy."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
