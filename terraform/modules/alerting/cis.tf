# Optional (enable_cis_metric_filters): the CIS AWS Foundations metric filters and alarms,
# in exactly the form Security Hub's controls CloudWatch.1 to CloudWatch.14 check: a metric
# filter with exactly this pattern on the trail's log group, an alarm on its metric, and
# an SNS topic with a subscriber (alert_email_addresses) for the alarm. Security Hub
# rejects any change to a pattern, so tuning (allowlists) belongs in trailguard's own cis
# rules, which carry the same logic. The patterns are copied verbatim from the AWS
# Security Hub user guide (tests/fixtures/reference/cis-cloudwatch-filters.md, which
# tests/cis.tftest.hcl compares them with).

locals {
  cis_namespace = "CISBenchmark"

  cis_controls = {
    "CloudWatch.1" = {
      metric  = "RootAccountUsage"
      title   = "A log metric filter and alarm should exist for usage of the \"root\" user"
      pattern = "{$.userIdentity.type=\"Root\" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !=\"AwsServiceEvent\"}"
    }
    "CloudWatch.2" = {
      metric  = "UnauthorizedAPICalls"
      title   = "Ensure a log metric filter and alarm exist for unauthorized API calls"
      pattern = "{($.errorCode=\"*UnauthorizedOperation\") || ($.errorCode=\"AccessDenied*\")}"
    }
    "CloudWatch.3" = {
      metric  = "ConsoleSignInWithoutMFA"
      title   = "Ensure a log metric filter and alarm exist for Management Console sign-in without MFA"
      pattern = "{ ($.eventName = \"ConsoleLogin\") && ($.additionalEventData.MFAUsed != \"Yes\") && ($.userIdentity.type = \"IAMUser\") && ($.responseElements.ConsoleLogin = \"Success\") }"
    }
    "CloudWatch.4" = {
      metric  = "IAMPolicyChanges"
      title   = "Ensure a log metric filter and alarm exist for IAM policy changes"
      pattern = "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}"
    }
    "CloudWatch.5" = {
      metric  = "CloudTrailConfigChanges"
      title   = "Ensure a log metric filter and alarm exist for CloudTrail AWS Configuration changes"
      pattern = "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}"
    }
    "CloudWatch.6" = {
      metric  = "ConsoleSignInFailures"
      title   = "Ensure a log metric filter and alarm exist for AWS Management Console authentication failures"
      pattern = "{($.eventName=ConsoleLogin) && ($.errorMessage=\"Failed authentication\")}"
    }
    "CloudWatch.7" = {
      metric  = "DisableOrDeleteCMK"
      title   = "Ensure a log metric filter and alarm exist for disabling or scheduled deletion of customer managed keys"
      pattern = "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"
    }
    "CloudWatch.8" = {
      metric  = "S3BucketPolicyChanges"
      title   = "Ensure a log metric filter and alarm exist for S3 bucket policy changes"
      pattern = "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}"
    }
    "CloudWatch.9" = {
      metric  = "AWSConfigChanges"
      title   = "Ensure a log metric filter and alarm exist for AWS Config configuration changes"
      pattern = "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}"
    }
    "CloudWatch.10" = {
      metric  = "SecurityGroupChanges"
      title   = "Ensure a log metric filter and alarm exist for security group changes"
      pattern = "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}"
    }
    "CloudWatch.11" = {
      metric  = "NACLChanges"
      title   = "Ensure a log metric filter and alarm exist for changes to Network Access Control Lists (NACL)"
      pattern = "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}"
    }
    "CloudWatch.12" = {
      metric  = "NetworkGatewayChanges"
      title   = "Ensure a log metric filter and alarm exist for changes to network gateways"
      pattern = "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}"
    }
    "CloudWatch.13" = {
      metric  = "RouteTableChanges"
      title   = "Ensure a log metric filter and alarm exist for route table changes"
      pattern = "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}"
    }
    "CloudWatch.14" = {
      metric  = "VPCChanges"
      title   = "Ensure a log metric filter and alarm exist for VPC changes"
      pattern = "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}"
    }
  }
}

resource "aws_cloudwatch_log_metric_filter" "cis" {
  for_each = var.enable_cis_metric_filters ? local.cis_controls : {}

  name           = "${var.name_prefix}-cis-${each.value.metric}"
  log_group_name = var.trail_log_group_name
  pattern        = each.value.pattern

  metric_transformation {
    name      = each.value.metric
    namespace = local.cis_namespace
    value     = "1"
  }
}

resource "aws_cloudwatch_metric_alarm" "cis" {
  for_each = aws_cloudwatch_log_metric_filter.cis

  alarm_name          = "${var.name_prefix}-cis-${local.cis_controls[each.key].metric}"
  alarm_description   = "Security Hub ${each.key} / CIS: ${local.cis_controls[each.key].title}. trailguard alerts on the same events with the record; this alarm is the control's evidence."
  namespace           = local.cis_namespace
  metric_name         = each.value.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}
