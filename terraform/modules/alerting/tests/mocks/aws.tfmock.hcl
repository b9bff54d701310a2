# Values the mocked AWS provider gives computed attributes, so that `command = plan` runs
# can check the ARNs the module wires together (tests run offline; nothing reaches AWS).
# One value per resource type: a test that must tell two resources of one type apart
# (the two queues) overrides one of them with override_resource.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "111122223333"
    arn        = "arn:aws:iam::111122223333:user/terraform"
    user_id    = "AIDAEXAMPLETERRAFORM"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "eu-west-1"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:111122223333:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
    key_id = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/trailguard"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:eu-west-1:111122223333:trailguard-dlq"
    id  = "https://sqs.eu-west-1.amazonaws.com/111122223333/trailguard-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/trailguard-dlq"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:eu-west-1:111122223333:trailguard-alerts"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/trailguard-state"
  }
}

mock_resource "aws_ssm_parameter" {
  defaults = {
    arn = "arn:aws:ssm:eu-west-1:111122223333:parameter/trailguard/config"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::111122223333:role/trailguard-function"
    id  = "trailguard-function"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:eu-west-1:111122223333:function:trailguard"
    invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:trailguard/invocations"
    qualified_arn = "arn:aws:lambda:eu-west-1:111122223333:function:trailguard:$LATEST"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:eu-west-1:111122223333:rule/trailguard-cloudtrail"
  }
}

mock_resource "aws_cloudwatch_log_metric_filter" {
  defaults = {
    id = "trailguard-cis"
  }
}
