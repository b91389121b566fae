variable "manifest_path" {
  description = "Path of the build manifest written by `python build.py all`; null means build/manifest.json at the repository root."
  type        = string
  default     = null
}

variable "allow_empty_manifest" {
  description = "Accept a manifest with no functions (which destroys every deployed function); false refuses it at plan time."
  type        = bool
  default     = false
  nullable    = false
}

variable "name_prefix" {
  description = "Prefix of every resource name, so several stacks can share an account."
  type        = string
  default     = "lambdafleet-"

  validation {
    condition     = can(regex("^[a-z0-9-]{0,20}$", var.name_prefix))
    error_message = "name_prefix must be at most 20 lower-case letters, digits or '-' (bucket names allow nothing else)."
  }
}

variable "tables" {
  description = "DynamoDB tables functions may name in their permissions (\"table:<key>:<access>\"), keyed by that name."
  type = map(object({
    hash_key       = string
    hash_key_type  = optional(string, "S")
    range_key      = optional(string)
    range_key_type = optional(string, "S")
    ttl_attribute  = optional(string)
    global_secondary_indexes = optional(list(object({
      name            = string
      hash_key        = string
      hash_key_type   = optional(string, "S")
      range_key       = optional(string)
      range_key_type  = optional(string, "S")
      projection_type = optional(string, "ALL")
    })), [])
  }))
  nullable = false
  default = {
    predictions = { hash_key = "id" }
    items       = { hash_key = "id" }
    jobs        = { hash_key = "id" }
    audit       = { hash_key = "id" }
  }

  validation {
    condition     = alltrue([for name in keys(var.tables) : can(regex("^[A-Za-z0-9_-]+$", name))])
    error_message = "table keys must be letters, digits, '-' or '_' (they become TABLE_<NAME> variables)."
  }
}

variable "buckets" {
  description = "S3 buckets functions may name in their permissions (\"bucket:<key>:<access>\"), keyed by that name; notify_function names a function told about new objects."
  type = map(object({
    notify_function = optional(string)
    notify_events   = optional(list(string), ["s3:ObjectCreated:*"])
    notify_prefix   = optional(string)
    notify_suffix   = optional(string)
  }))
  nullable = false
  default = {
    models     = {}
    uploads    = { notify_function = "resize_image" }
    thumbnails = {}
  }

  validation {
    condition     = alltrue([for name in keys(var.buckets) : can(regex("^[a-z0-9_-]+$", name))])
    error_message = "bucket keys must be lower-case letters, digits, '-' or '_' (they become BUCKET_<NAME> variables)."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group, in days."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Let terraform destroy remove buckets and repositories that still hold objects (throw-away environments only)."
  type        = bool
  default     = false
}

variable "enforce_tls" {
  description = "Give every bucket a policy denying requests without TLS (false only for an emulator that speaks plain HTTP)."
  type        = bool
  default     = true
}

variable "bucket_lifecycle_rules" {
  description = "Give every bucket its lifecycle rules (false only for an emulator: it never expires anything, and the AWS provider waits at least 30 s per apply for the rules to settle)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "jwt_issuers" {
  description = "Issuer URL per JWT authorizer of functions/api.toml, replacing the one it declares (e.g. a Cognito user pool's for AWS, where the local issuer's tokens are never accepted)."
  type        = map(string)
  nullable    = false
  default     = {}

  validation {
    condition     = alltrue([for issuer in values(var.jwt_issuers) : startswith(issuer, "https://")])
    error_message = "each JWT issuer must be an https:// URL."
  }
}

variable "secrets" {
  description = "Secrets Manager secrets functions may name in their permissions (\"secret:<key>:<level>\"), keyed by that name, named <name_prefix><key>. The value never reaches the plan or the state: it is generated (generate = true: GetRandomPassword, `length` characters) or taken from the ephemeral var.secret_values, and written through write-only arguments; raise `version` to write a new value."
  type = map(object({
    description = optional(string, "")
    generate    = optional(bool, true)
    length      = optional(number, 32)
    version     = optional(number, 1)
  }))
  nullable = false
  default = {
    items-token-key = { description = "HMAC key signing the items API's page tokens" }
  }

  validation {
    condition     = alltrue([for name, secret in var.secrets : can(regex("^[a-z0-9_-]+$", name)) && secret.length >= 16 && secret.length <= 4096 && secret.version >= 1])
    error_message = "secrets: keys must be lower-case letters, digits, '-' or '_' (they become SECRET_<NAME> variables); length 16-4096; version >= 1."
  }
}

variable "secret_values" {
  description = "Values of the secrets declared with generate = false, by key. Ephemeral: Terraform keeps them out of plan files and state."
  type        = map(string)
  default     = {}
  nullable    = false
  sensitive   = true
  ephemeral   = true
}

variable "parameters" {
  description = "SSM parameters functions may name in their permissions (\"parameter:<key>:<level>\"), keyed by that name, named /<name_prefix><key>. secure = true makes a SecureString. The value comes from the ephemeral var.parameter_values and is written through write-only arguments (never in the state); raise `version` to write a new value."
  type = map(object({
    description = optional(string, "")
    secure      = optional(bool, true)
    version     = optional(number, 1)
  }))
  nullable = false
  default  = {}

  validation {
    condition     = alltrue([for name, parameter in var.parameters : can(regex("^[a-z0-9_-]+$", name)) && parameter.version >= 1])
    error_message = "parameters: keys must be lower-case letters, digits, '-' or '_' (they become PARAMETER_<NAME> variables); version >= 1."
  }
}

variable "parameter_values" {
  description = "Value of every declared parameter, by key. Ephemeral: Terraform keeps them out of plan files and state."
  type        = map(string)
  default     = {}
  nullable    = false
  sensitive   = true
  ephemeral   = true
}

variable "kms_keys" {
  description = "Customer-managed KMS keys functions may name in their permissions (\"key:<key>:<level>\"), keyed by that name, with the alias alias/<name_prefix><key>; rotated yearly."
  type = map(object({
    description = optional(string, "")
  }))
  nullable = false
  default  = {}

  validation {
    condition     = alltrue([for name in keys(var.kms_keys) : can(regex("^[a-z0-9_-]+$", name))])
    error_message = "kms_keys: keys must be lower-case letters, digits, '-' or '_' (they become KEY_<NAME> variables)."
  }
}
