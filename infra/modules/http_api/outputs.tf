output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "execution_arn" {
  description = "Execution ARN of the HTTP API."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "invoke_url" {
  description = "URL of the $default stage."
  value       = aws_apigatewayv2_stage.this.invoke_url
}

output "route_ids" {
  description = "Route IDs keyed by route key."
  value       = { for route_key, route in aws_apigatewayv2_route.this : route_key => route.id }
}
