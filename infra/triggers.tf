# Event sources: the queues, topics, streams and buses of functions/resources.toml (manifest keys `queues`, `topics`,
# `streams`, `buses`), and what connects each function's `triggers` to them: event source mappings (SQS, DynamoDB
# and Kinesis streams), SNS subscriptions, EventBridge rules and schedules, with the permissions each needs.

locals {
  queues  = try(local.manifest.queues, {})
  topics  = try(local.manifest.topics, {})
  streams = try(local.manifest.streams, {})
  buses   = try(local.manifest.buses, {})

  # Every trigger of every function, keyed "<function>/<trigger name>" (names are unique within a function).
  triggers = merge([
    for name, function in local.functions : {
      for trigger in try(function.triggers, []) : "${name}/${trigger.name}" => merge(trigger, { function = name })
    }
  ]...)

  mapped_triggers     = { for key, t in local.triggers : key => t if contains(["sqs", "dynamodb_stream", "kinesis"], t.type) }
  sns_triggers        = { for key, t in local.triggers : key => t if t.type == "sns" }
  rule_triggers       = { for key, t in local.triggers : key => t if contains(["eventbridge", "schedule"], t.type) }
  stream_table_names  = toset([for t in values(local.triggers) : t.table if t.type == "dynamodb_stream"])
  trigger_source_kind = { sqs = "queue", dynamodb_stream = "table", kinesis = "stream", sns = "topic", s3 = "bucket" }

  declared_sources = {
    sqs = keys(local.queues), sns = keys(local.topics), kinesis = keys(local.streams), dynamodb_stream = keys(var.tables), s3 = keys(var.buckets)
  }
  # HCL does not short-circuit: try() keeps kinds without a source (rules, schedules) out.
  undeclared_trigger_sources = [
    for key, t in local.triggers : "functions.${t.function}.triggers.${t.name} names ${local.trigger_source_kind[t.type]} '${t[local.trigger_source_kind[t.type]]}', which is not declared"
    if try(!contains(local.declared_sources[t.type], t[local.trigger_source_kind[t.type]]), false)
  ]

  queue_arns = { for name, queue in module.queue : name => queue.arn }
  topic_arns = { for name, topic in module.topic : name => topic.arn }
  # The same queue and topic ARNs built from the names, for the trigger statements of the roles only (IAM does
  # not check that a resource exists). Mappings keep the real references.
  region_account   = "${data.aws_region.current.name}:${local.account_id}"
  named_queue_arns = { for name, queue in local.queues : name => "arn:${data.aws_partition.current.partition}:sqs:${local.region_account}:${var.name_prefix}${name}${queue.fifo ? ".fifo" : ""}" }
  named_topic_arns = { for name, topic in local.topics : name => "arn:${data.aws_partition.current.partition}:sns:${local.region_account}:${var.name_prefix}${name}${topic.fifo ? ".fifo" : ""}" }
  # trigger_source_arns and on_failure_arns with those: no reference to module.queue or module.topic at all (a
  # reference is a dependency, whichever branch of a conditional is taken).
  statement_source_arns = {
    for key, t in local.mapped_triggers : key => (
      t.type == "sqs" ? lookup(local.named_queue_arns, t.queue, "") :
      t.type == "kinesis" ? try(module.stream[t.stream].arn, "") :
      try(module.table[t.table].stream_arn, "")
    )
  }
  statement_failure_arns = {
    for key, t in local.mapped_triggers : key => (
      try(t.on_failure, null) == null ? null :
      startswith(t.on_failure, "queue:") ? lookup(local.named_queue_arns, trimprefix(t.on_failure, "queue:"), null) :
      lookup(local.named_topic_arns, trimprefix(t.on_failure, "topic:"), null)
    )
  }
  # An undeclared source maps to "" so the plan reaches the manifest_check precondition that names it.
  trigger_source_arns = {
    for key, t in local.mapped_triggers : key => (
      t.type == "sqs" ? lookup(local.queue_arns, t.queue, "") :
      t.type == "kinesis" ? try(module.stream[t.stream].arn, "") :
      try(module.table[t.table].stream_arn, "")
    )
  }
  on_failure_arns = {
    for key, t in local.mapped_triggers : key => (
      try(t.on_failure, null) == null ? null :
      startswith(t.on_failure, "queue:") ? lookup(local.queue_arns, trimprefix(t.on_failure, "queue:"), null) :
      lookup(local.topic_arns, trimprefix(t.on_failure, "topic:"), null)
    )
  }

  # Exactly the actions Lambda's pollers use on each source, on that source only.
  source_actions = {
    sqs             = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    dynamodb_stream = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    kinesis         = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard"]
  }
  trigger_statements = {
    for name, function in local.functions : name => concat(
      [
        for key, t in local.mapped_triggers : { actions = local.source_actions[t.type], resources = [local.statement_source_arns[key]] }
        if t.function == name
      ],
      # ListStreams names no resource: IAM evaluates it against "*"; it only lists stream ARNs.
      length([for t in values(local.mapped_triggers) : t if t.function == name && t.type == "dynamodb_stream"]) == 0 ? [] : [
        { actions = ["dynamodb:ListStreams"], resources = ["*"] }
      ],
      [
        for key, t in local.mapped_triggers : {
          actions   = [startswith(t.on_failure, "queue:") ? "sqs:SendMessage" : "sns:Publish"]
          resources = [local.statement_failure_arns[key]]
        } if t.function == name && local.statement_failure_arns[key] != null
      ],
    )
  }

  s3_trigger_notifications = {
    for key, t in local.triggers : key => {
      bucket        = t.bucket
      function_arn  = module.function[t.function].arn
      function_name = module.function[t.function].function_name
      events        = t.events
      filter_prefix = t.prefix == "" ? null : t.prefix
      filter_suffix = t.suffix == "" ? null : t.suffix
    } if t.type == "s3"
  }
}

module "queue" {
  source   = "./modules/queue"
  for_each = local.queues

  name                        = "${var.name_prefix}${each.key}"
  fifo                        = each.value.fifo
  content_based_deduplication = each.value.content_based_deduplication
  visibility_timeout          = each.value.visibility_timeout
  message_retention           = each.value.message_retention
  delay                       = each.value.delay
  max_receive_count           = each.value.max_receive_count
  tags                        = var.tags
}

# Each queue's redrive policy, attached once it and its dead-letter queue exist. Set here rather than in
# modules/queue so that what reads the queues' URLs and ARNs (functions' environment and roles) does not wait for it:
# the AWS provider holds this change ~25 s too.
resource "aws_sqs_queue_redrive_policy" "queue" {
  for_each = { for name, queue in local.queues : name => queue if queue.max_receive_count > 0 }

  queue_url      = module.queue[each.key].url
  redrive_policy = module.queue[each.key].redrive_policy
}

module "topic" {
  source   = "./modules/topic"
  for_each = local.topics

  name = "${var.name_prefix}${each.key}"
  fifo = each.value.fifo
  tags = var.tags
}

module "stream" {
  source   = "./modules/stream"
  for_each = local.streams

  name            = "${var.name_prefix}${each.key}"
  shard_count     = each.value.shard_count
  retention_hours = each.value.retention_hours
  tags            = var.tags
}

module "event_bus" {
  source   = "./modules/event_bus"
  for_each = local.buses

  name = "${var.name_prefix}${each.key}"
  tags = var.tags
}

resource "aws_lambda_event_source_mapping" "trigger" {
  for_each = local.mapped_triggers

  event_source_arn                   = local.trigger_source_arns[each.key]
  function_name                      = module.function[each.value.function].arn
  enabled                            = each.value.enabled
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.maximum_batching_window
  function_response_types            = each.value.report_batch_item_failures ? ["ReportBatchItemFailures"] : null
  starting_position                  = each.value.type == "sqs" ? null : each.value.starting_position
  bisect_batch_on_function_error     = each.value.type == "sqs" ? null : each.value.bisect_batch_on_function_error
  maximum_retry_attempts             = each.value.type == "sqs" ? null : each.value.maximum_retry_attempts
  maximum_record_age_in_seconds      = each.value.type == "sqs" ? null : each.value.maximum_record_age

  dynamic "scaling_config" {
    for_each = try(each.value.maximum_concurrency, null) == null ? [] : [each.value.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  dynamic "filter_criteria" {
    for_each = length(each.value.filters) > 0 ? [each.value.filters] : []
    content {
      dynamic "filter" {
        for_each = filter_criteria.value
        content {
          pattern = jsonencode(filter.value)
        }
      }
    }
  }

  dynamic "destination_config" {
    for_each = local.on_failure_arns[each.key] == null ? [] : [local.on_failure_arns[each.key]]
    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }

  # A queue's redrive policy is set before any mapping receives from it.
  depends_on = [aws_sqs_queue_redrive_policy.queue]
}

resource "aws_lambda_permission" "sns" {
  for_each = local.sns_triggers

  statement_id  = "sns-${each.value.name}"
  action        = "lambda:InvokeFunction"
  function_name = module.function[each.value.function].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = lookup(local.topic_arns, each.value.topic, "")
}

resource "aws_sns_topic_subscription" "trigger" {
  for_each = local.sns_triggers

  topic_arn           = lookup(local.topic_arns, each.value.topic, "")
  protocol            = "lambda"
  endpoint            = module.function[each.value.function].arn
  filter_policy       = each.value.filter_policy == null ? null : jsonencode(each.value.filter_policy)
  filter_policy_scope = each.value.filter_policy == null ? null : each.value.filter_policy_scope

  depends_on = [aws_lambda_permission.sns]
}

resource "aws_cloudwatch_event_rule" "trigger" {
  for_each = local.rule_triggers

  name                = "${var.name_prefix}${each.value.function}-${each.value.name}"
  description         = "${each.value.type} trigger ${each.value.name} of ${var.name_prefix}${each.value.function}"
  event_bus_name      = each.value.type == "schedule" || try(each.value.bus, "default") == "default" ? "default" : module.event_bus[each.value.bus].name
  event_pattern       = each.value.type == "eventbridge" ? jsonencode(each.value.pattern) : null
  schedule_expression = each.value.type == "schedule" ? each.value.expression : null
  state               = each.value.enabled ? "ENABLED" : "DISABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "trigger" {
  for_each = local.rule_triggers

  rule           = aws_cloudwatch_event_rule.trigger[each.key].name
  event_bus_name = aws_cloudwatch_event_rule.trigger[each.key].event_bus_name
  target_id      = "function"
  arn            = module.function[each.value.function].arn
  input          = try(each.value.input, null) == null ? null : jsonencode(each.value.input)
}

resource "aws_lambda_permission" "events" {
  for_each = local.rule_triggers

  statement_id  = "events-${each.value.name}"
  action        = "lambda:InvokeFunction"
  function_name = module.function[each.value.function].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.trigger[each.key].arn
}
