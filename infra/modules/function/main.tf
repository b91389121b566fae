locals {
  # Least privilege: each grant is an exact action list on one exact ARN (the table, an index, a bucket's objects
  # or keys, a queue, a secret...), resolved from function.toml's levels by build.py.
  grant_statements = [
    for index, grant in var.grants : {
      Sid      = "${title(grant.type)}${index}"
      Effect   = "Allow"
      Action   = grant.actions
      Resource = [grant.arn]
    }
  ]

  # permissions.statements of function.toml, validated by build.py (no "*" action; "*" resource only for
  # actions that have no resource-level permissions).
  escape_statements = [
    for index, statement in var.statements : merge({
      Sid      = "Statement${index}"
      Effect   = "Allow"
      Action   = statement.actions
      Resource = statement.resources
      }, length(statement.conditions) == 0 ? {} : {
      Condition = statement.conditions
    })
  ]

  trigger_statements = [
    for index, statement in var.trigger_statements : {
      Sid      = "Trigger${index}"
      Effect   = "Allow"
      Action   = statement.actions
      Resource = statement.resources
    }
  ]

  # The targets' services are known at plan time even when their ARNs are not (a queue created in the same apply).
  destination_targets = [for target in [var.destinations.on_success, var.destinations.on_failure] : target if target != null]

  # Lambda sends a destination's invocation record with the execution role: each target's one action, on it only.
  destination_actions = { lambda = "lambda:InvokeFunction", sqs = "sqs:SendMessage", sns = "sns:Publish" }
  destination_sids    = { lambda = "Destinations", sqs = "DestinationQueues", sns = "DestinationTopics" }
  destination_statements = [
    for service, action in local.destination_actions : {
      Sid      = local.destination_sids[service]
      Effect   = "Allow"
      Action   = [action]
      Resource = distinct([for target in local.destination_targets : target.arn if target.service == service])
    } if contains(local.destination_targets[*].service, service)
  ]
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${substr(var.function_name, 0, 37)}-"
  description        = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name = "least-privilege"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([{
      Sid      = "OwnLogGroup"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
    }], local.grant_statements, local.destination_statements, local.trigger_statements, local.escape_statements)
  })
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Encrypted with the CloudWatch Logs service key; a customer-managed KMS key is a per-deployment choice, not a default.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the on_failure destination, the successor of a DLQ.
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs; a VPC adds NAT cost and cold-start latency without a private resource to reach.
  #checkov:skip=CKV_AWS_173:Environment variables hold resource names, never secrets; Lambda encrypts them at rest with its service key.
  #checkov:skip=CKV_AWS_272:Code integrity comes from the reproducible build's sha256 (source_code_hash); code signing needs a Signer profile per account.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is set per function (function.toml reserved_concurrency) where it bounds cost; a fixed default would throttle or starve other functions.
  function_name     = var.function_name
  description       = var.description
  role              = aws_iam_role.this.arn
  package_type      = var.package_type
  filename          = var.filename
  s3_bucket         = var.s3_bucket
  s3_key            = var.s3_key
  s3_object_version = var.s3_object_version
  source_code_hash  = var.source_code_hash
  image_uri         = var.image_uri
  runtime           = var.package_type == "Zip" ? var.runtime : null
  handler           = var.package_type == "Zip" ? var.handler : null
  architectures     = [var.architecture]
  layers            = var.package_type == "Zip" ? var.layers : null
  memory_size       = var.memory_size
  timeout           = var.timeout
  tags              = var.tags
  # -1: no reservation (the provider's "unreserved"); 0 throttles every invocation.
  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency

  ephemeral_storage {
    size = var.ephemeral_storage
  }

  logging_config {
    log_format = var.logging_format
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tracing_config {
    mode = "PassThrough"
  }

  dynamic "image_config" {
    for_each = var.image_config == null ? [] : [var.image_config]
    content {
      entry_point       = image_config.value.entry_point
      command           = image_config.value.command
      working_directory = image_config.value.working_directory
    }
  }

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []
    content {
      variables = environment.value
    }
  }

  lifecycle {
    precondition {
      condition     = var.package_type == "Image" ? var.image_uri != null : (var.filename != null) != (var.s3_key != null)
      error_message = "${var.function_name}: give exactly one of filename or s3_bucket/s3_key for a Zip function, or image_uri for an Image function."
    }
    precondition {
      condition     = var.image_config == null || var.package_type == "Image"
      error_message = "${var.function_name}: image_config applies to an Image function only."
    }
  }

  # The role must be able to write logs before the first invocation.
  depends_on = [aws_iam_role_policy.this]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = length(local.destination_targets) > 0 ? 1 : 0

  function_name = aws_lambda_function.this.function_name

  destination_config {
    dynamic "on_success" {
      for_each = var.destinations.on_success == null ? [] : [var.destinations.on_success.arn]
      content {
        destination = on_success.value
      }
    }

    dynamic "on_failure" {
      for_each = var.destinations.on_failure == null ? [] : [var.destinations.on_failure.arn]
      content {
        destination = on_failure.value
      }
    }
  }
}
