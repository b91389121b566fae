output "function_names" {
  description = "Deployed Lambda function names, keyed by manifest name."
  value       = module.stack.function_names
}

output "api_url" {
  description = "Invoke URL of the HTTP API."
  value       = module.stack.api_url
}

output "table_names" {
  description = "DynamoDB table names, keyed by declared name."
  value       = module.stack.table_names
}

output "bucket_names" {
  description = "S3 bucket names, keyed by declared name."
  value       = module.stack.bucket_names
}

output "artifact_bucket" {
  description = "Bucket for `python build.py all --upload s3://<artifact_bucket>/lambda`."
  value       = module.stack.artifact_bucket
}

output "state_machine_arns" {
  description = "State machine ARNs, keyed by chain name."
  value       = module.stack.state_machine_arns
}

output "ecr_repository_urls" {
  description = "ECR repository URLs of image functions."
  value       = module.stack.ecr_repository_urls
}

output "queue_urls" {
  description = "SQS queue URLs, keyed by declared name."
  value       = module.stack.queue_urls
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URLs, keyed by the name of the queue they serve."
  value       = module.stack.dead_letter_queue_urls
}

output "topic_arns" {
  description = "SNS topic ARNs, keyed by declared name."
  value       = module.stack.topic_arns
}

output "stream_names" {
  description = "Kinesis stream names, keyed by declared name."
  value       = module.stack.stream_names
}

output "event_bus_names" {
  description = "EventBridge bus names, keyed by declared name."
  value       = module.stack.event_bus_names
}
