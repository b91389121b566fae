resource "aws_sns_topic" "this" {
  name                        = var.fifo ? "${var.name}.fifo" : var.name
  fifo_topic                  = var.fifo ? true : null
  content_based_deduplication = var.fifo ? true : null
  kms_master_key_id           = var.kms_key_id
  tags                        = var.tags
}
