# Optional (enable_securityhub): turns Security Hub on in this account and region for the
# securityhub sink (the permission is in iam.tf, the sink in config.tf). Off by default:
# where an organization's delegated administrator manages Security Hub this resource
# would conflict, and moto's Security Hub hangs on it.

resource "aws_securityhub_account" "this" {
  count = var.enable_securityhub ? 1 : 0

  enable_default_standards = false
}
