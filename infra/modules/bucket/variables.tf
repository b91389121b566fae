variable "name" {
  description = "Name of the S3 bucket (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete a bucket that still holds objects (for throw-away environments)."
  type        = bool
  default     = false
}

variable "enforce_tls" {
  description = "Deny every request that does not use TLS (false only for an emulator that speaks plain HTTP)."
  type        = bool
  default     = true
}

variable "lifecycle_rules" {
  description = "Tidy noncurrent versions and stale multipart uploads (false only for an emulator, which never expires anything: the AWS provider waits at least 30 s for the rules to settle)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for default encryption; null uses SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days before an overwritten or deleted object version is removed."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "notifications" {
  description = "Lambda functions notified of object events, keyed by a label: function ARN and name, events and an optional key filter."
  type = map(object({
    function_arn  = string
    function_name = string
    events        = optional(list(string), ["s3:ObjectCreated:*"])
    filter_prefix = optional(string)
    filter_suffix = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue(flatten([for notification in values(var.notifications) : [for event in notification.events : startswith(event, "s3:")]]))
    error_message = "notification events must be S3 event names such as s3:ObjectCreated:*."
  }
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
