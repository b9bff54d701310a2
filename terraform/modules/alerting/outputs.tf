output "function_name" {
  description = "Name of trailguard's Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of trailguard's Lambda function."
  value       = aws_lambda_function.this.arn
}

output "alert_topic_arn" {
  description = "ARN of the SNS topic that receives trailguard's alerts (sns sink of the default configuration) and every alarm of the module. Subscribe pagers, chat bridges or queues to it (docs/configuration.md, filter policies on severity, rule_id, account_id)."
  value       = aws_sns_topic.alerts.arn
}

output "dead_letter_queue_url" {
  description = "URL of the function's dead-letter queue: asynchronous invocations (CloudWatch Logs, EventBridge) that failed every retry, as Lambda on-failure records (requestPayload holds the event), and events EventBridge could not deliver."
  value       = aws_sqs_queue.dead_letter.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the function's dead-letter queue."
  value       = aws_sqs_queue.dead_letter.arn
}

output "state_table_name" {
  description = "Name of the DynamoDB table holding dedup keys and threshold windows (state: {type: dynamodb, table: ...})."
  value       = aws_dynamodb_table.state.name
}

output "config_parameter_name" {
  description = "Name of the SSM parameter (String) holding trailguard's configuration; the function reads it through TRAILGUARD_CONFIG=ssm:NAME."
  value       = aws_ssm_parameter.config.name
}

output "s3_notification_queue_url" {
  description = "URL of the SQS queue the log bucket notifies and the function reads (pass it to `trailguard backfill --queue`); null unless enable_s3_sqs_trigger."
  value       = var.enable_s3_sqs_trigger ? aws_sqs_queue.log_files[0].url : null
}
