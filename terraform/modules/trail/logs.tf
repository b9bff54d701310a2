# CloudWatch Logs copy of the trail: what the alerting module subscribes to.

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.cloudwatch_log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

# The role CloudTrail assumes to write into the log group. No aws:SourceArn condition on the
# trust: CloudTrail does not document one for this role, and a trail can only be given a
# role its creator may iam:PassRole, which keeps other accounts out.
resource "aws_iam_role" "cloudtrail_cloudwatch" {
  name        = "${var.name_prefix}-trail-cloudwatch"
  description = "Lets CloudTrail trail ${local.trail_name} deliver events to ${local.log_group_name}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CloudTrailAssumeRole"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "sts:AssumeRole"
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "cloudtrail_cloudwatch" {
  name = "deliver-to-${replace(trimprefix(local.log_group_name, "/"), "/", "-")}"
  role = aws_iam_role.cloudtrail_cloudwatch.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AWSCloudTrailCreateLogStream"
        Effect   = "Allow"
        Action   = "logs:CreateLogStream"
        Resource = local.cloudtrail_log_stream_arns
      },
      {
        Sid      = "AWSCloudTrailPutLogEvents"
        Effect   = "Allow"
        Action   = "logs:PutLogEvents"
        Resource = local.cloudtrail_log_stream_arns
      },
    ]
  })
}
