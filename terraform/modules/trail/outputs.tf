output "trail_arn" {
  description = "ARN of the CloudTrail trail."
  value       = aws_cloudtrail.this.arn
}

output "trail_name" {
  description = "Name of the CloudTrail trail."
  value       = aws_cloudtrail.this.name
}

output "log_bucket_name" {
  description = "Name of the S3 bucket holding the trail's log and digest files (under AWSLogs/)."
  value       = aws_s3_bucket.log.bucket
}

output "log_bucket_arn" {
  description = "ARN of the S3 bucket holding the trail's log and digest files."
  value       = aws_s3_bucket.log.arn
}

output "access_log_bucket_name" {
  description = "Name of the S3 bucket receiving the server access logs of the log bucket."
  value       = aws_s3_bucket.access_logs.bucket
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the log files and the log group. Readers of the log bucket need kms:Decrypt on it (granted through IAM)."
  value       = aws_kms_key.this.arn
}

output "log_group_name" {
  description = "Name of the CloudWatch Logs log group the trail delivers to."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the CloudWatch Logs log group the trail delivers to (without the \":*\" suffix)."
  value       = aws_cloudwatch_log_group.this.arn
}

output "cloudtrail_cloudwatch_role_arn" {
  description = "ARN of the IAM role CloudTrail assumes to write to the log group."
  value       = aws_iam_role.cloudtrail_cloudwatch.arn
}
