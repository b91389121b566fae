variable "name" {
  description = "Name of the HTTP API."
  type        = string

  validation {
    condition     = length(var.name) > 0 && length(var.name) <= 128
    error_message = "name must be 1-128 characters."
  }
}

variable "integrations" {
  description = "One Lambda proxy integration per function, keyed by function: its invoke ARN, name, route keys such as \"POST /predict\" and payload format version (\"2.0\" or \"1.0\")."
  type = map(object({
    function_name          = string
    invoke_arn             = string
    route_keys             = list(string)
    payload_format_version = optional(string, "2.0")
  }))

  validation {
    condition = alltrue(flatten([
      for integration in values(var.integrations) : [
        for route_key in integration.route_keys : can(regex("^(\\$default|(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /[^ ]*)$", route_key))
      ]
    ]))
    error_message = "each route key must be \"$default\" or \"<METHOD> /<path>\" with METHOD one of ANY, GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS."
  }

  validation {
    condition     = alltrue([for integration in values(var.integrations) : contains(["1.0", "2.0"], integration.payload_format_version)])
    error_message = "payload_format_version must be \"1.0\" or \"2.0\"."
  }

  validation {
    condition     = length(flatten(values(var.integrations)[*].route_keys)) == length(distinct(flatten(values(var.integrations)[*].route_keys)))
    error_message = "a route key may be declared by one function only."
  }
}

variable "log_retention_days" {
  description = "Retention of the access log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "cors" {
  description = "CORS of the API (API Gateway answers preflight OPTIONS itself); null for none."
  type = object({
    allow_origins     = list(string)
    allow_methods     = list(string)
    allow_headers     = list(string)
    expose_headers    = list(string)
    allow_credentials = bool
    max_age           = number
  })
  default = null
}

variable "throttling" {
  description = "Default rate (requests per second) and burst of every route of the $default stage; null for the account's."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
  default = null
}

variable "authorizers" {
  description = "Authorizers by name: type \"jwt\" (issuer, audience) or \"lambda\" (function_name, invoke_arn, simple_responses, result_ttl); identity_sources for both."
  type = map(object({
    type             = string
    identity_sources = list(string)
    issuer           = optional(string)
    audience         = optional(list(string))
    function_name    = optional(string)
    invoke_arn       = optional(string)
    simple_responses = optional(bool, true)
    result_ttl       = optional(number, 0)
  }))
  default = {}

  validation {
    condition     = alltrue([for authorizer in values(var.authorizers) : contains(["jwt", "lambda"], authorizer.type)])
    error_message = "each authorizer's type must be \"jwt\" or \"lambda\"."
  }
}

variable "route_settings" {
  description = "Per route key: authorization (\"NONE\", \"AWS_IAM\" or an authorizer's name), JWT scopes and route throttling."
  type = map(object({
    authorization = optional(string, "NONE")
    scopes        = optional(list(string), [])
    throttling = optional(object({
      rate_limit  = number
      burst_limit = number
    }))
  }))
  default = {}
}
