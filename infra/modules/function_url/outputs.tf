output "function_url" {
  description = "The URL, https://<url-id>.lambda-url.<region>.on.aws/ (locally served at http://<url-id>.lambda-url.<region>.localhost:<port>/)."
  value       = aws_lambda_function_url.this.function_url
}

output "url_id" {
  description = "The URL's id, the first label of its host name."
  value       = aws_lambda_function_url.this.url_id
}
