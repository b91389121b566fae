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

  redrive_policy = var.max_receive_count > 0 ? jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[0].arn
    maxReceiveCount     = var.max_receive_count
  }) : null
}
