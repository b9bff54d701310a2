# Inputs the module refuses, planned offline against a mock provider.
# Needs Terraform >= 1.11 for override_during.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

run "log_retention_below_a_year" {
  command = plan
  variables {
    log_retention_days = 364
  }
  expect_failures = [var.log_retention_days]
}

run "cloudwatch_retention_below_a_year" {
  command = plan
  variables {
    cloudwatch_log_retention_days = 180
  }
  expect_failures = [var.cloudwatch_log_retention_days]
}

run "cloudwatch_retention_not_a_cloudwatch_value" {
  command = plan
  variables {
    cloudwatch_log_retention_days = 500
  }
  expect_failures = [var.cloudwatch_log_retention_days]
}

run "glacier_before_three_months" {
  command = plan
  variables {
    transition_to_glacier_days = 30
  }
  expect_failures = [var.transition_to_glacier_days]
}

run "glacier_not_before_expiration" {
  command = plan
  variables {
    log_retention_days         = 365
    transition_to_glacier_days = 365
  }
  expect_failures = [aws_s3_bucket_lifecycle_configuration.log]
}

run "object_lock_longer_than_retention" {
  command = plan
  variables {
    object_lock_enabled        = true
    object_lock_retention_days = 400
  }
  expect_failures = [aws_s3_bucket_object_lock_configuration.log]
}

run "object_lock_mode_unknown" {
  command = plan
  variables {
    object_lock_mode = "LEGAL_HOLD"
  }
  expect_failures = [var.object_lock_mode]
}

run "kms_deletion_window_too_short" {
  command = plan
  variables {
    kms_deletion_window_days = 5
  }
  expect_failures = [var.kms_deletion_window_days]
}

run "name_prefix_with_upper_case" {
  command = plan
  variables {
    name_prefix = "TrailGuard"
  }
  expect_failures = [var.name_prefix]
}

run "name_prefix_too_long" {
  command = plan
  variables {
    name_prefix = "a-very-long-name-prefix"
  }
  expect_failures = [var.name_prefix]
}

run "name_prefix_reserved_by_s3" {
  command = plan
  variables {
    name_prefix = "sthree-logs"
  }
  expect_failures = [var.name_prefix]
}

run "longest_name_prefix_and_region_still_fit" {
  command = plan
  variables {
    name_prefix = "abcdefghij-klmnopqrs"
  }
  # The longest region name today (15 characters).
  override_data {
    target = data.aws_region.current
    values = { name = "us-isof-south-1" }
  }
  assert {
    condition     = aws_s3_bucket.access_logs.bucket == "abcdefghij-klmnopqrs-trail-access-111122223333-us-isof-south-1"
    error_message = "A 20-character prefix in the longest region must still give a valid access-log bucket name."
  }
}
