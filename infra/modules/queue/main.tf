locals {
  suffix = var.fifo ? ".fifo" : ""
}

resource "aws_sqs_queue" "dead_letter" {
  count = var.max_receive_count > 0 ? 1 : 0

  name                      = "${var.name}-dlq${local.suffix}"
  fifo_queue                = var.fifo ? true : null
  message_retention_seconds = 1209600 # the longest SQS keeps a message: time to look at what failed
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "this" {
  name                        = "${var.name}${local.suffix}"
  fifo_queue                  = var.fifo ? true : null
  content_based_deduplication = var.fifo ? var.content_based_deduplication : null
  visibility_timeout_seconds  = var.visibility_timeout
  message_retention_seconds   = var.message_retention
  delay_seconds               = var.delay
  sqs_managed_sse_enabled     = true
  tags                        = var.tags
  # No redrive_policy: the caller attaches the `redrive_policy` output with an aws_sqs_queue_redrive_policy (the
  # attribute is computed, so there is no drift). SQS refuses a redrive policy naming a dead-letter queue that
  # does not exist yet, and the AWS provider holds every queue create and attribute change ~25 s for the
  # attributes to settle (6 matching reads 5 s apart): set here, the queue's create would wait for the DLQ's. And
  # since a reference to a for_each module as a whole (`for name, queue in module.queue`) waits for every resource
  # in it, a policy set inside the module would hold whatever reads the queue's URL or ARN (functions'
  # environment and roles) ~50 s instead of ~25 s.
}
