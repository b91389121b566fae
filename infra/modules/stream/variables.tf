variable "name" {
  description = "Name of the Kinesis data stream."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,128}$", var.name))
    error_message = "name must be 1-128 letters, digits, '_', '-' or '.'."
  }
}

variable "shard_count" {
  description = "Number of shards (provisioned mode)."
  type        = number
  default     = 1
}

variable "retention_hours" {
  description = "Hours records are kept (24-8760)."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be between 24 and 8760."
  }
}

variable "kms_key_id" {
  description = "KMS key encrypting records at rest; the AWS-managed Kinesis key by default."
  type        = string
  default     = "alias/aws/kinesis"
}

variable "tags" {
  description = "Tags for the stream."
  type        = map(string)
  default     = {}
}
