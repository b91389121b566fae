output "name" {
  description = "Name of the bus."
  value       = aws_cloudwatch_event_bus.this.name
}

output "arn" {
  description = "ARN of the bus."
  value       = aws_cloudwatch_event_bus.this.arn
}
