locals {
  routes = merge([
    for key, integration in var.integrations : {
      for route_key in integration.route_keys : route_key => key
    }
  ]...)
  authorization = { for route_key in keys(local.routes) : route_key => try(var.route_settings[route_key].authorization, "NONE") }
  authorization_types = {
    for route_key, name in local.authorization : route_key => (
      contains(["NONE", "AWS_IAM"], name) ? name : (var.authorizers[name].type == "jwt" ? "JWT" : "CUSTOM")
    )
  }
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  tags          = var.tags

  dynamic "cors_configuration" {
    for_each = var.cors == null ? [] : [var.cors]
    content {
      allow_origins     = cors_configuration.value.allow_origins
      allow_methods     = cors_configuration.value.allow_methods
      allow_headers     = cors_configuration.value.allow_headers
      expose_headers    = cors_configuration.value.expose_headers
      allow_credentials = cors_configuration.value.allow_credentials
      max_age           = cors_configuration.value.max_age
    }
  }
}

resource "aws_apigatewayv2_authorizer" "this" {
  for_each = var.authorizers

  api_id           = aws_apigatewayv2_api.this.id
  name             = each.key
  authorizer_type  = each.value.type == "jwt" ? "JWT" : "REQUEST"
  identity_sources = each.value.identity_sources

  authorizer_uri                    = each.value.type == "lambda" ? each.value.invoke_arn : null
  authorizer_payload_format_version = each.value.type == "lambda" ? "2.0" : null
  enable_simple_responses           = each.value.type == "lambda" ? each.value.simple_responses : null
  authorizer_result_ttl_in_seconds  = each.value.type == "lambda" ? each.value.result_ttl : null

  dynamic "jwt_configuration" {
    for_each = each.value.type == "jwt" ? [each.value] : []
    content {
      issuer   = jwt_configuration.value.issuer
      audience = jwt_configuration.value.audience
    }
  }
}

resource "aws_lambda_permission" "authorizer" {
  for_each = { for name, authorizer in var.authorizers : name => authorizer if authorizer.type == "lambda" }

  statement_id  = "AllowInvokeAsAuthorizer-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/authorizers/${aws_apigatewayv2_authorizer.this[each.key].id}"
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_158:Encrypted with the CloudWatch Logs service key; a customer-managed KMS key is a per-deployment choice, not a default.
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  dynamic "default_route_settings" {
    for_each = var.throttling == null ? [] : [var.throttling]
    content {
      throttling_rate_limit  = default_route_settings.value.rate_limit
      throttling_burst_limit = default_route_settings.value.burst_limit
    }
  }

  dynamic "route_settings" {
    for_each = { for key, route in var.route_settings : key => route.throttling if route.throttling != null }
    content {
      route_key              = route_settings.key
      throttling_rate_limit  = route_settings.value.rate_limit
      throttling_burst_limit = route_settings.value.burst_limit
    }
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      sourceIp           = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLatency    = "$context.responseLatency"
      integrationError   = "$context.integrationErrorMessage"
      integrationLatency = "$context.integrationLatency"
    })
  }
}

resource "aws_apigatewayv2_integration" "this" {
  for_each = var.integrations

  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = each.value.invoke_arn
  payload_format_version = each.value.payload_format_version
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:Routes are public unless functions/api.toml gives them an authorization; read routes of the examples are meant to be public.
  for_each = local.routes

  api_id    = aws_apigatewayv2_api.this.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.this[each.value].id}"

  authorization_type   = local.authorization_types[each.key]
  authorizer_id        = contains(keys(var.authorizers), local.authorization[each.key]) ? aws_apigatewayv2_authorizer.this[local.authorization[each.key]].id : null
  authorization_scopes = length(try(var.route_settings[each.key].scopes, [])) > 0 ? var.route_settings[each.key].scopes : null
}

resource "aws_lambda_permission" "this" {
  for_each = var.integrations

  statement_id  = "AllowInvokeFromHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}
