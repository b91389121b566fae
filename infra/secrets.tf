# Secrets, parameters and KMS keys functions may be granted (var.secrets, var.parameters, var.kms_keys). Values are
# written through write-only arguments (Terraform >= 1.11): they are sent to AWS but never stored in the plan or
# the state. A generated secret comes from an ephemeral GetRandomPassword, which is never stored either.

ephemeral "aws_secretsmanager_random_password" "secret" {
  for_each = { for name, secret in var.secrets : name => secret if secret.generate }

  password_length     = each.value.length
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV_AWS_149:Encrypted with the Secrets Manager service key; a customer-managed key is a per-deployment choice (grant it with "key:<name>:decrypt").
  #checkov:skip=CKV2_AWS_57:Values are written by Terraform (raise `version` to replace one); rotation needs a rotation function per kind of secret.
  for_each = var.secrets

  name                    = local.resource_names["secret:${each.key}"]
  description             = each.value.description
  recovery_window_in_days = var.force_destroy ? 0 : 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each = var.secrets

  secret_id = aws_secretsmanager_secret.this[each.key].id
  # A secret with generate = false and no entry in var.secret_values fails here, naming the secret.
  secret_string_wo         = try(ephemeral.aws_secretsmanager_random_password.secret[each.key].random_password, var.secret_values[each.key])
  secret_string_wo_version = each.value.version
}

resource "aws_ssm_parameter" "this" {
  #checkov:skip=CKV2_AWS_34:SecureString is the default (secure = true); a String parameter is non-secret configuration declared so on purpose.
  for_each = var.parameters

  name             = local.resource_names["parameter:${each.key}"]
  description      = each.value.description
  type             = each.value.secure ? "SecureString" : "String"
  value_wo         = var.parameter_values[each.key]
  value_wo_version = each.value.version
  tags             = var.tags
}

data "aws_iam_policy_document" "kms_key" {
  #checkov:skip=CKV_AWS_111:A key policy: Resource "*" means this key alone, and the account root delegates to IAM (AWS's default key policy).
  #checkov:skip=CKV_AWS_356:A key policy: Resource "*" means this key alone, not every resource.
  #checkov:skip=CKV_AWS_109:A key policy: the account root delegating to IAM policies is AWS's default key policy; functions get only their grants' actions.
  # The account may administer and use the key through IAM (AWS's default key policy); functions get only the
  # actions their grants name, on this key's ARN.
  statement {
    sid       = "AccountAdministersThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = var.kms_keys

  description             = each.value.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  for_each = var.kms_keys

  name          = "alias/${var.name_prefix}${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
