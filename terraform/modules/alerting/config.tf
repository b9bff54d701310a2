# trailguard's configuration, read by the function at its first invocation
# (TRAILGUARD_CONFIG=ssm:/NAME_PREFIX/config). Type String, on purpose: the configuration
# holds no secrets, only references to them (secretsmanager:NAME, ssm:/NAME), which
# secret_arns lets the function read; reviewers can read it without kms:Decrypt.

locals {
  default_config = {
    sinks = concat(
      [
        { type = "log" },
        {
          type         = "sns"
          name         = "alerts"
          topic_arn    = aws_sns_topic.alerts.arn
          min_severity = var.alert_min_severity
        },
      ],
      var.enable_securityhub ? [{ type = "securityhub", min_severity = var.alert_min_severity }] : [],
    )
    state = {
      type  = "dynamodb"
      table = aws_dynamodb_table.state.name
    }
  }

  config_yaml = var.config_yaml != null ? var.config_yaml : yamlencode(local.default_config)
}

resource "aws_ssm_parameter" "config" {
  #checkov:skip=CKV2_AWS_34:The configuration holds no secrets, only references to Secrets Manager secrets and SecureString parameters (secret_arns); a String keeps it reviewable. Secrets never reach Terraform state or this parameter.
  name        = local.config_parameter_name
  description = "trailguard configuration (docs/configuration.md); no secrets, only references"
  type        = "String"
  tier        = "Intelligent-Tiering"
  value       = local.config_yaml
  tags        = var.tags
}
