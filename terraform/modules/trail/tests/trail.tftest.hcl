# The trail, its key and its CloudWatch Logs delivery, planned offline against a mock
# provider (no credentials, nothing created). Needs Terraform >= 1.11 for override_during.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

run "single_account_trail" {
  command = plan

  # PCI DSS 10.2.1: logging on, every region, global services, read and write management events.
  assert {
    condition     = aws_cloudtrail.this.name == "trailguard-trail"
    error_message = "The trail is not named after name_prefix."
  }
  assert {
    condition     = aws_cloudtrail.this.enable_logging && aws_cloudtrail.this.is_multi_region_trail && aws_cloudtrail.this.include_global_service_events
    error_message = "The trail must be logging, multi-region and include global service events."
  }
  assert {
    condition     = aws_cloudtrail.this.enable_log_file_validation
    error_message = "Log file validation (PCI DSS 10.3.4) must be on."
  }
  assert {
    condition     = aws_cloudtrail.this.is_organization_trail == false
    error_message = "The trail must not be an organization trail unless asked."
  }
  assert {
    condition = (
      length(aws_cloudtrail.this.event_selector) == 1
      && aws_cloudtrail.this.event_selector[0].read_write_type == "All"
      && aws_cloudtrail.this.event_selector[0].include_management_events
    )
    error_message = "The trail must record all management events, read and write."
  }
  assert {
    condition     = aws_cloudtrail.this.s3_bucket_name == "trailguard-trail-111122223333-eu-west-1" && aws_cloudtrail.this.kms_key_id == aws_kms_key.this.arn
    error_message = "The trail must deliver to the module's bucket, encrypted with the module's key."
  }
  assert {
    condition = (
      aws_cloudtrail.this.cloud_watch_logs_group_arn == "${aws_cloudwatch_log_group.this.arn}:*"
      && aws_cloudtrail.this.cloud_watch_logs_role_arn == aws_iam_role.cloudtrail_cloudwatch.arn
    )
    error_message = "The trail must deliver to the module's log group through the module's role."
  }

  # The key: rotation on, the deletion window from the variable.
  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.deletion_window_in_days == 30
    error_message = "The KMS key must rotate and keep the 30-day deletion window by default."
  }
  assert {
    condition     = aws_kms_alias.this.name == "alias/trailguard-trail"
    error_message = "The key alias is not named after name_prefix."
  }

  # The key policy: exactly the four statements, each scoped to this trail or log group.
  assert {
    condition = toset([for s in jsondecode(aws_kms_key.this.policy).Statement : s.Sid]) == toset([
      "EnableAccountRootAdministration",
      "AllowCloudTrailToEncryptLogs",
      "AllowCloudTrailToDescribeKey",
      "AllowCloudWatchLogsForTheTrailLogGroup",
    ])
    error_message = "The key policy must hold exactly the root, CloudTrail (encrypt, describe) and CloudWatch Logs statements."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Principal != "*" && try(s.Principal.AWS, "") != "*"
    ])
    error_message = "No key policy statement may name a wildcard principal."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Principal.AWS
      if s.Sid == "EnableAccountRootAdministration"
    ]) == "arn:aws:iam::111122223333:root"
    error_message = "Key administration must belong to the account root (IAM delegation) only."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s
      if s.Sid == "AllowCloudTrailToEncryptLogs"
      ]) == {
      Sid       = "AllowCloudTrailToEncryptLogs"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "kms:GenerateDataKey*"
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceArn" = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/trailguard-trail" }
        StringLike   = { "kms:EncryptionContext:aws:cloudtrail:arn" = "arn:aws:cloudtrail:*:111122223333:trail/trailguard-trail" }
      }
    }
    error_message = "CloudTrail may only generate data keys for this trail (aws:SourceArn and encryption context)."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s
      if s.Sid == "AllowCloudTrailToDescribeKey"
    ]).Condition == { StringEquals = { "aws:SourceArn" = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/trailguard-trail" } }
    error_message = "CloudTrail's DescribeKey must be scoped to this trail."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s
      if s.Sid == "AllowCloudWatchLogsForTheTrailLogGroup"
      ]) == {
      Sid       = "AllowCloudWatchLogsForTheTrailLogGroup"
      Effect    = "Allow"
      Principal = { Service = "logs.eu-west-1.amazonaws.com" }
      Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      Resource  = "*"
      Condition = {
        ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/cloudtrail/trailguard" }
      }
    }
    error_message = "CloudWatch Logs may use the key for the trail's log group only."
  }

  # The log group: PCI DSS 10.5.1 retention and KMS encryption.
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/cloudtrail/trailguard"
    error_message = "The log group is not named after name_prefix."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days >= 365 && aws_cloudwatch_log_group.this.kms_key_id == aws_kms_key.this.arn
    error_message = "The log group must keep events for at least 365 days, encrypted with the module's key."
  }

  # The role CloudTrail writes to CloudWatch Logs with: trusted by CloudTrail, limited to
  # this group's CloudTrail streams.
  assert {
    condition = jsondecode(aws_iam_role.cloudtrail_cloudwatch.assume_role_policy).Statement == [{
      Sid       = "CloudTrailAssumeRole"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
    error_message = "Only CloudTrail may assume the CloudWatch Logs delivery role."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.cloudtrail_cloudwatch.policy).Statement == [
      {
        Sid      = "AWSCloudTrailCreateLogStream"
        Effect   = "Allow"
        Action   = "logs:CreateLogStream"
        Resource = ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/cloudtrail/trailguard:log-stream:111122223333_CloudTrail_*"]
      },
      {
        Sid      = "AWSCloudTrailPutLogEvents"
        Effect   = "Allow"
        Action   = "logs:PutLogEvents"
        Resource = ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/cloudtrail/trailguard:log-stream:111122223333_CloudTrail_*"]
      },
    ]
    error_message = "The delivery role may only create streams in and write to the trail's log group."
  }

  assert {
    condition     = output.trail_name == "trailguard-trail" && output.log_group_name == "/aws/cloudtrail/trailguard" && output.kms_key_arn == aws_kms_key.this.arn
    error_message = "The outputs do not report the trail, log group and key."
  }
}

run "organization_trail" {
  command = plan

  variables {
    is_organization_trail = true
  }

  assert {
    condition     = aws_cloudtrail.this.is_organization_trail
    error_message = "is_organization_trail = true must create an organization trail."
  }
  assert {
    condition     = length(data.aws_organizations_organization.current) == 1
    error_message = "An organization trail must read the organization id."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_s3_bucket_policy.log.policy).Statement : s
      if s.Sid == "AWSCloudTrailOrganizationWrite"
      ]) == {
      Sid       = "AWSCloudTrailOrganizationWrite"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::trailguard-trail-111122223333-eu-west-1/AWSLogs/o-a1b2c3d4e5/*"
      Condition = {
        StringEquals = {
          "s3:x-amz-acl"  = "bucket-owner-full-control"
          "aws:SourceArn" = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/trailguard-trail"
        }
      }
    }
    error_message = "An organization trail needs CloudTrail's write on AWSLogs/<org-id>/* for this trail."
  }
  assert {
    condition = one([
      for s in jsondecode(aws_s3_bucket_policy.log.policy).Statement : s.Resource
      if s.Sid == "AWSCloudTrailWrite"
    ]) == "arn:aws:s3:::trailguard-trail-111122223333-eu-west-1/AWSLogs/111122223333/*"
    error_message = "The management account's own prefix must stay writable for an organization trail."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.cloudtrail_cloudwatch.policy).Statement[1].Resource == [
      "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/cloudtrail/trailguard:log-stream:111122223333_CloudTrail_*",
      "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/cloudtrail/trailguard:log-stream:o-a1b2c3d4e5_*",
    ]
    error_message = "An organization trail's delivery role must also reach the organization's log streams."
  }
}

run "organization_trail_outside_the_management_account" {
  command = plan

  variables {
    is_organization_trail = true
  }

  override_data {
    target = data.aws_organizations_organization.current
    values = { id = "o-a1b2c3d4e5", master_account_id = "999988887777" }
  }

  expect_failures = [aws_cloudtrail.this]
}

run "custom_prefix_retention_and_tags" {
  command = plan

  variables {
    name_prefix                   = "pci-audit"
    cloudwatch_log_retention_days = 731
    kms_deletion_window_days      = 7
    tags                          = { project = "trailguard", owner = "security" }
  }

  assert {
    condition = (
      aws_cloudtrail.this.name == "pci-audit-trail"
      && aws_s3_bucket.log.bucket == "pci-audit-trail-111122223333-eu-west-1"
      && aws_s3_bucket.access_logs.bucket == "pci-audit-trail-access-111122223333-eu-west-1"
      && aws_cloudwatch_log_group.this.name == "/aws/cloudtrail/pci-audit"
      && aws_iam_role.cloudtrail_cloudwatch.name == "pci-audit-trail-cloudwatch"
    )
    error_message = "Every name must follow name_prefix."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 731 && aws_kms_key.this.deletion_window_in_days == 7
    error_message = "cloudwatch_log_retention_days and kms_deletion_window_days must reach the resources."
  }
  assert {
    condition = alltrue([
      for tags in [
        aws_kms_key.this.tags,
        aws_s3_bucket.log.tags,
        aws_s3_bucket.access_logs.tags,
        aws_cloudwatch_log_group.this.tags,
        aws_iam_role.cloudtrail_cloudwatch.tags,
        aws_cloudtrail.this.tags,
      ] : tags == tomap({ project = "trailguard", owner = "security" })
    ])
    error_message = "Every taggable resource must carry var.tags."
  }
  assert {
    condition     = length(data.aws_organizations_organization.current) == 0
    error_message = "A single-account trail must not read the organization."
  }
}
