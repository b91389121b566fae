output "name" {
  description = "Name of the queue."
  value       = aws_sqs_queue.this.name
}

output "arn" {
  description = "ARN of the queue."
  value       = aws_sqs_queue.this.arn
}

output "url" {
  description = "URL of the queue."
  value       = aws_sqs_queue.this.url
}

output "dead_letter_arn" {
  description = "ARN of the dead-letter queue, or null."
  value       = one(aws_sqs_queue.dead_letter[*].arn)
}

output "dead_letter_url" {
  description = "URL of the dead-letter queue, or null."
  value       = one(aws_sqs_queue.dead_letter[*].url)
}

output "redrive_policy" {
  description = "The queue's redrive policy (JSON) naming its dead-letter queue, for the caller's aws_sqs_queue_redrive_policy; null without a DLQ."
  value = var.max_receive_count > 0 ? jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[0].arn
    maxReceiveCount     = var.max_receive_count
  }) : null
}
