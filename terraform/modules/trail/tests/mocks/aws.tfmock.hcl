# Fixed values for what the module reads from AWS, so names and ARNs are known at plan time
# and the assertions can compare exact strings. Everything else the mock provider invents.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "111122223333"
    arn        = "arn:aws:iam::111122223333:user/terraform"
    user_id    = "AIDAEXAMPLEUSERID0001"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "eu-west-1"
  }
}

mock_data "aws_organizations_organization" {
  defaults = {
    id                = "o-a1b2c3d4e5"
    master_account_id = "111122223333"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:111122223333:key/0d2b4d36-8d0a-4a8e-9d0e-6f4c1f0b1a11"
    key_id = "0d2b4d36-8d0a-4a8e-9d0e-6f4c1f0b1a11"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/cloudtrail/trailguard"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::111122223333:role/trailguard-trail-cloudwatch"
  }
}
