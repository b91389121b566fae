output "function_names" {
  description = "Deployed Lambda function names, keyed by manifest name."
  value       = { for name, function in module.function : name => function.function_name }
}

output "function_arns" {
  description = "Lambda function ARNs, keyed by manifest name."
  value       = { for name, function in module.function : name => function.arn }
}

output "api_id" {
  description = "ID of the HTTP API (null when no function declares routes)."
  value       = one(module.http_api[*].api_id)
}

output "api_url" {
  description = "Invoke URL of the HTTP API, or null when no function declares routes."
  value       = one(module.http_api[*].invoke_url)
}

output "table_names" {
  description = "DynamoDB table names, keyed by declared name."
  value       = { for name, table in module.table : name => table.name }
}

output "bucket_names" {
  description = "S3 bucket names, keyed by declared name."
  value       = { for name, bucket in module.bucket : name => bucket.name }
}

output "artifact_bucket" {
  description = "Bucket for `python build.py all --upload s3://<artifact_bucket>/lambda`."
  value       = module.artifacts.name
}

output "state_machine_arns" {
  description = "Step Functions state machine ARNs, keyed by chain name."
  value       = { for name, machine in module.state_machine : name => machine.arn }
}

output "ecr_repository_urls" {
  description = "ECR repository URLs of image functions, keyed by manifest name."
  value       = { for name, repository in module.ecr_repository : name => repository.repository_url }
}

output "function_urls" {
  description = "Function URLs, keyed by manifest name (functions whose function.toml has function_url)."
  value       = { for name, url in module.function_url : name => url.function_url }
}

output "function_url_ids" {
  description = "Function URL ids, keyed by manifest name: the local endpoint serves http://<id>.lambda-url.<region>.localhost:<port>/."
  value       = { for name, url in module.function_url : name => url.url_id }
}

output "layer_arns" {
  description = "Layer version ARNs, keyed \"<layer>/<runtime>-<architecture>\"."
  value       = { for key, layer in aws_lambda_layer_version.layer : key => layer.arn }
}

output "queue_urls" {
  description = "SQS queue URLs, keyed by declared name."
  value       = { for name, queue in module.queue : name => queue.url }
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue URLs, keyed by the declared name of the queue they serve (queues with max_receive_count > 0)."
  value       = { for name, queue in module.queue : name => queue.dead_letter_url if queue.dead_letter_url != null }
}

output "topic_arns" {
  description = "SNS topic ARNs, keyed by declared name."
  value       = { for name, topic in module.topic : name => topic.arn }
}

output "stream_names" {
  description = "Kinesis stream names, keyed by declared name."
  value       = { for name, stream in module.stream : name => stream.name }
}

output "event_bus_names" {
  description = "EventBridge bus names, keyed by declared name."
  value       = { for name, bus in module.event_bus : name => bus.name }
}
