# One-time set-up of what the pull-request pipeline may do in the account: the GitHub OIDC provider (unless the
# account has one) and the plan role. The role reads Terraform's state and describes the stack's own resources,
# which is all `terraform plan -lock=false` needs; it reads no data (no object bodies but the stack's own
# packages and deploy state, no table items, no secrets), so a same-repository pull request's code cannot exfiltrate
# what the functions store.

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  prefix    = var.name_prefix
  github    = "token.actions.githubusercontent.com"
  oidc_arn  = coalesce(var.oidc_provider_arn, try(aws_iam_openid_connect_provider.github[0].arn, null))
  artifacts = "arn:${local.partition}:s3:::${local.prefix}artifacts-${local.account}"
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.oidc_provider_arn == null ? 1 : 0

  url            = "https://${local.github}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS trusts GitHub's certificate authority itself; the provider still takes thumbprints.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "PullRequestsOfThisRepository"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github}:sub"
      values   = ["repo:${var.github_repository}:pull_request"]
    }
  }
}

resource "aws_iam_role" "plan" {
  name                 = "${local.prefix}ci-plan"
  description          = "terraform plan of ${var.github_repository}'s pull requests: state and configuration reads, no data"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan" {
  name   = "plan"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}"]
  }

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/${var.state_key}"]
  }

  # The stack's own objects: its packages (refreshed by aws_s3_object) and the last deploy's record.
  statement {
    sid       = "ReadStackPackages"
    actions   = ["s3:GetObject", "s3:GetObjectTagging"]
    resources = ["${local.artifacts}/lambda/*", "${local.artifacts}/terraform-packages/*"]
  }

  # Bucket configuration only: s3:GetObject on the data buckets is deliberately absent. The provider's HeadBucket
  # is authorized as s3:ListBucket, which lists keys, never object bodies.
  statement {
    sid = "DescribeBuckets"
    actions = [
      "s3:GetAccelerateConfiguration", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLocation",
      "s3:GetBucketLogging", "s3:GetBucketNotification", "s3:GetBucketObjectLockConfiguration",
      "s3:GetBucketOwnershipControls", "s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock",
      "s3:GetBucketRequestPayment", "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetBucketWebsite",
      "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration",
      "s3:ListBucket",
    ]
    resources = ["arn:${local.partition}:s3:::${local.prefix}*"]
  }

  statement {
    sid = "DescribeFunctions"
    actions = [
      "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConcurrency",
      "lambda:GetFunctionConfiguration", "lambda:GetFunctionEventInvokeConfig", "lambda:GetFunctionUrlConfig",
      "lambda:GetPolicy", "lambda:ListTags", "lambda:ListVersionsByFunction",
    ]
    resources = ["arn:${local.partition}:lambda:${var.region}:${local.account}:function:${local.prefix}*"]
  }

  statement {
    sid       = "DescribeLayers"
    actions   = ["lambda:GetLayerVersion"]
    resources = ["arn:${local.partition}:lambda:${var.region}:${local.account}:layer:${local.prefix}*:*"]
  }

  # Event source mappings are named by generated UUIDs: no narrower resource exists.
  statement {
    sid       = "DescribeEventSourceMappings"
    actions   = ["lambda:GetEventSourceMapping"]
    resources = ["arn:${local.partition}:lambda:${var.region}:${local.account}:event-source-mapping:*"]
  }

  statement {
    sid = "DescribeRoles"
    actions = [
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
    ]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${local.prefix}*"]
  }

  # Table metadata only: no GetItem, Query, Scan or export.
  statement {
    sid = "DescribeTables"
    actions = [
      "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive",
      "dynamodb:ListTagsOfResource",
    ]
    resources = ["arn:${local.partition}:dynamodb:${var.region}:${local.account}:table/${local.prefix}*"]
  }

  # DescribeLogGroups authorizes against every group of the region (the service allows no narrower resource);
  # tags only on the stack's groups. No log events are read.
  statement {
    sid       = "ListLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${var.region}:${local.account}:log-group:*"]
  }

  statement {
    sid     = "DescribeLogGroups"
    actions = ["logs:ListTagsForResource", "logs:ListTagsLogGroup"]
    resources = [
      "arn:${local.partition}:logs:${var.region}:${local.account}:log-group:/aws/lambda/${local.prefix}*",
      "arn:${local.partition}:logs:${var.region}:${local.account}:log-group:/aws/apigateway/${local.prefix}*",
      "arn:${local.partition}:logs:${var.region}:${local.account}:log-group:/aws/vendedlogs/states/${local.prefix}*",
    ]
  }

  # HTTP APIs have generated ids, so configuration reads cover the region's APIs; GET is read-only.
  statement {
    sid     = "DescribeHttpApis"
    actions = ["apigateway:GET"]
    resources = [
      "arn:${local.partition}:apigateway:${var.region}::/apis",
      "arn:${local.partition}:apigateway:${var.region}::/apis/*",
      "arn:${local.partition}:apigateway:${var.region}::/tags/*",
    ]
  }

  statement {
    sid       = "DescribeStateMachines"
    actions   = ["states:DescribeStateMachine", "states:ListStateMachineVersions", "states:ListTagsForResource"]
    resources = ["arn:${local.partition}:states:${var.region}:${local.account}:stateMachine:${local.prefix}*"]
  }

  statement {
    sid = "DescribeRepositories"
    actions = [
      "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource",
    ]
    resources = ["arn:${local.partition}:ecr:${var.region}:${local.account}:repository/${local.prefix}*"]
  }

  statement {
    sid       = "DescribeQueues"
    actions   = ["sqs:GetQueueAttributes", "sqs:ListQueueTags"]
    resources = ["arn:${local.partition}:sqs:${var.region}:${local.account}:${local.prefix}*"]
  }

  statement {
    sid       = "DescribeTopics"
    actions   = ["sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"]
    resources = ["arn:${local.partition}:sns:${var.region}:${local.account}:${local.prefix}*"]
  }

  statement {
    sid       = "DescribeStreams"
    actions   = ["kinesis:DescribeStreamSummary", "kinesis:ListTagsForStream"]
    resources = ["arn:${local.partition}:kinesis:${var.region}:${local.account}:stream/${local.prefix}*"]
  }

  statement {
    sid     = "DescribeEventBusesAndRules"
    actions = ["events:DescribeEventBus", "events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule"]
    resources = [
      "arn:${local.partition}:events:${var.region}:${local.account}:event-bus/${local.prefix}*",
      "arn:${local.partition}:events:${var.region}:${local.account}:rule/${local.prefix}*",
      "arn:${local.partition}:events:${var.region}:${local.account}:rule/${local.prefix}*/*",
    ]
  }

  # Secrets: their description and resource policy, never a value. secretsmanager:GetSecretValue is deliberately
  # absent: a refresh of aws_secretsmanager_secret_version reads the value, so the pull-request plan does not
  # refresh secret versions (scripts/deploy.sh plan --no-value-reads, README).
  statement {
    sid       = "DescribeSecrets"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"]
    resources = ["arn:${local.partition}:secretsmanager:${var.region}:${local.account}:secret:${local.prefix}*"]
  }

  # Parameters: metadata and tags, never a value (ssm:GetParameter reads it, decrypted: the refresh of
  # aws_ssm_parameter calls it, so the pull-request plan does not refresh parameters either).
  statement {
    sid       = "DescribeParameters"
    actions   = ["ssm:ListTagsForResource"]
    resources = ["arn:${local.partition}:ssm:${var.region}:${local.account}:parameter/${local.prefix}*"]
  }

  # Keys have generated ids: the stack's keys are those with an alias of the prefix. No kms:Decrypt.
  statement {
    sid       = "DescribeKeys"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
    resources = ["arn:${local.partition}:kms:${var.region}:${local.account}:key/*"]

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "kms:ResourceAliases"
      values   = ["alias/${local.prefix}*"]
    }
  }

  # A table's refresh describes its encryption key, the AWS-managed alias/aws/dynamodb: metadata only.
  statement {
    sid       = "DescribeAwsManagedKeys"
    actions   = ["kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:${var.region}:${local.account}:key/*"]

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "kms:ResourceAliases"
      values   = ["alias/aws/*"]
    }
  }

  # Actions AWS authorizes on no resource type (Resource must be "*"), none of which returns stored data:
  # parameter and alias listings (names and metadata), a subscription's settings, and GetRandomPassword, which the
  # plan's ephemeral password generator calls (it returns fresh random characters, not a stored secret).
  statement {
    sid = "ActionsWithoutResourceTypes"
    actions = [
      "kms:ListAliases", "secretsmanager:GetRandomPassword", "sns:GetSubscriptionAttributes", "ssm:DescribeParameters",
    ]
    resources = ["*"]
  }
}
