variable "function_name" {
  description = "Name of the Lambda function (also names its role and log group)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, '-' or '_'."
  }
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
}

variable "package_type" {
  description = "Zip (code from filename or S3) or Image (code from image_uri)."
  type        = string
  default     = "Zip"

  validation {
    condition     = contains(["Zip", "Image"], var.package_type)
    error_message = "package_type must be Zip or Image."
  }
}

variable "filename" {
  description = "Local path of the deployment zip; null when the zip comes from S3 or the package is an image."
  type        = string
  default     = null
}

variable "s3_bucket" {
  description = "Bucket holding the deployment zip; null for a local file or an image."
  type        = string
  default     = null
}

variable "s3_key" {
  description = "Key of the deployment zip in s3_bucket."
  type        = string
  default     = null
}

variable "s3_object_version" {
  description = "Object version of the deployment zip, when the bucket is versioned."
  type        = string
  default     = null
}

variable "source_code_hash" {
  description = "Base64 SHA-256 of the zip (the manifest's source_code_hash); a change redeploys the code."
  type        = string
  default     = null
}

variable "image_uri" {
  description = "ECR image URI for package_type Image."
  type        = string
  default     = null
}

variable "image_config" {
  description = "Overrides of an Image function's ENTRYPOINT, CMD (for AWS base images: the handler) and WORKDIR; null, or an attribute left out: the image's own."
  type = object({
    entry_point       = optional(list(string))
    command           = optional(list(string))
    working_directory = optional(string)
  })
  default = null

  validation {
    condition     = var.image_config == null ? true : length(coalesce(var.image_config.entry_point, [])) <= 1500 && length(coalesce(var.image_config.command, [])) <= 1500
    error_message = "image_config.entry_point and image_config.command take at most 1500 strings each (Lambda's limit)."
  }

  validation {
    condition     = var.image_config == null ? true : (var.image_config.working_directory == null ? true : can(regex("^/.{0,999}$", var.image_config.working_directory)))
    error_message = "image_config.working_directory must be an absolute path of at most 1000 characters (Lambda fails a relative one with Runtime.InvalidWorkingDir)."
  }
}

variable "runtime" {
  description = "Lambda runtime of a Zip function."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "runtime must be a Python runtime such as python3.12."
  }
}

variable "handler" {
  description = "module.function entry point of a Zip function."
  type        = string
  default     = "lambda_function.lambda_handler"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.]+\\.[A-Za-z0-9_]+$", var.handler))
    error_message = "handler must look like module.function."
  }
}

variable "architecture" {
  description = "Instruction set: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB (128-10240)."
  type        = number
  default     = 128

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds (1-900)."
  type        = number
  default     = 3

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "ephemeral_storage" {
  description = "Size of /tmp in MB (512-10240)."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage >= 512 && var.ephemeral_storage <= 10240
    error_message = "ephemeral_storage must be between 512 and 10240 MB."
  }
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "logging_format" {
  description = "Log format: Text or JSON."
  type        = string
  default     = "Text"

  validation {
    condition     = contains(["Text", "JSON"], var.logging_format)
    error_message = "logging_format must be Text or JSON."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "grants" {
  description = "What the function may do with the resources it names: each an exact action list on one exact ARN (type names the statement: table, bucket, queue, secret...)."
  type = list(object({
    type    = string
    actions = list(string)
    arn     = string
  }))
  default = []

  validation {
    condition     = alltrue([for grant in var.grants : length(grant.actions) > 0 && alltrue([for action in grant.actions : can(regex("^[a-z0-9-]+:[A-Za-z]+$", action))]) && startswith(grant.arn, "arn:")])
    error_message = "each grant needs named actions (service:Action, no wildcard) and the resource's ARN."
  }
}

variable "statements" {
  description = "Extra Allow statements (function.toml's permissions.statements): actions, resources and conditions (operator => key => values)."
  type = list(object({
    actions    = list(string)
    resources  = list(string)
    conditions = map(map(list(string)))
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for statement in var.statements : !anytrue([for action in statement.actions : action == "*" || endswith(action, ":*")])])
    error_message = "a statement may not grant \"*\" or every action of a service (\"service:*\")."
  }
}

variable "destinations" {
  description = "Where the record of an asynchronous invocation goes: a target's ARN and its service (lambda, sqs or sns; given apart because an ARN may be unknown until apply)."
  type = object({
    on_success = optional(object({ arn = string, service = string }))
    on_failure = optional(object({ arn = string, service = string }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for target in [var.destinations.on_success, var.destinations.on_failure] : target == null ? true : contains(["lambda", "sqs", "sns"], target.service)])
    error_message = "each destination's service must be lambda, sqs or sns."
  }
}

variable "trigger_statements" {
  description = "What the function's event sources need from its role (for an SQS queue: receive, delete, read its attributes), each with the exact actions and resources."
  type = list(object({
    actions   = list(string)
    resources = list(string)
  }))
  default = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "layers" {
  description = "ARNs of the layer versions to attach, in the order Lambda extracts them into /opt (at most five)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.layers) <= 5
    error_message = "Lambda attaches at most five layers to a function."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for the function, and its ceiling (0 throttles every invocation); null leaves it in the account's unreserved pool."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null ? true : var.reserved_concurrency >= 0 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "reserved_concurrency must be a whole number, at least 0 (0 throttles every invocation), or null."
  }
}
