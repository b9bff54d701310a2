output "trail_arn" {
  description = "ARN of the CloudTrail trail."
  value       = module.trail.trail_arn
}

output "trail_name" {
  description = "Name of the CloudTrail trail (for `aws cloudtrail get-trail-status --name`)."
  value       = module.trail.trail_name
}

output "log_bucket_name" {
  description = "S3 bucket holding the trail's log files (`trailguard scan s3://...`, `trailguard backfill s3://...`)."
  value       = module.trail.log_bucket_name
}

output "access_log_bucket_name" {
  description = "S3 bucket receiving the server access logs of the log bucket."
  value       = module.trail.access_log_bucket_name
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the trail's log files and log group."
  value       = module.trail.kms_key_arn
}

output "log_group_name" {
  description = "CloudWatch Logs log group the trail delivers to; the function subscribes to it."
  value       = module.trail.log_group_name
}

output "function_name" {
  description = "Name of the trailguard Lambda function (its own log group is /aws/lambda/<name>)."
  value       = module.alerting.function_name
}

output "function_arn" {
  description = "ARN of the trailguard Lambda function."
  value       = module.alerting.function_arn
}

output "alert_topic_arn" {
  description = "ARN of the SNS topic alerts are published to; subscribe email, SQS, chat bridges or pagers to it."
  value       = module.alerting.alert_topic_arn
}

output "dead_letter_queue_url" {
  description = "URL of the SQS queue holding the invocations the function failed after AWS's retries."
  value       = module.alerting.dead_letter_queue_url
}

output "state_table_name" {
  description = "DynamoDB table holding trailguard's dedup and threshold state."
  value       = module.alerting.state_table_name
}

output "config_parameter_name" {
  description = "SSM parameter holding trailguard's YAML configuration (the function reads TRAILGUARD_CONFIG=ssm:<name>)."
  value       = module.alerting.config_parameter_name
}

output "s3_notification_queue_url" {
  description = "URL of the queue of log-file notifications (`trailguard backfill --queue <url>`); null unless enable_s3_sqs_trigger."
  value       = module.alerting.s3_notification_queue_url
}
