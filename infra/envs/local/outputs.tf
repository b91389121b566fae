output "function_names" {
  description = "Deployed Lambda function names, keyed by manifest name."
  value       = module.stack.function_names
}

output "api_id" {
  description = "ID of the HTTP API."
  value       = module.stack.api_id
}

output "api_url" {
  description = "URL of the HTTP API on the embedded endpoint (python build.py local serves /_api/<api-id>/<path>)."
  value       = module.stack.api_id == null ? null : "${trimsuffix(var.endpoint_url, "/")}/_api/${module.stack.api_id}"
}

output "aws_api_url" {
  description = "The invoke URL the emulator's API Gateway reports (the AWS form; not served locally)."
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

output "function_urls" {
  description = "Function URLs as the embedded endpoint serves them (http://<url-id>.lambda-url.<region>.localhost:<port>/), keyed by manifest name."
  value       = { for name, id in module.stack.function_url_ids : name => "http://${id}.lambda-url.${var.region}.localhost${local.endpoint_port}/" }
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

output "layer_arns" {
  description = "Layer version ARNs, keyed \"<layer>/<runtime>-<architecture>\"."
  value       = module.stack.layer_arns
}
