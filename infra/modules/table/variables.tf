variable "name" {
  description = "Name of the DynamoDB table."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 letters, digits, '_', '-' or '.'."
  }
}

variable "hash_key" {
  description = "Partition key attribute."
  type        = string
}

variable "hash_key_type" {
  description = "Type of the partition key: S, N or B."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key_type)
    error_message = "hash_key_type must be S, N or B."
  }
}

variable "range_key" {
  description = "Sort key attribute, or null."
  type        = string
  default     = null
}

variable "range_key_type" {
  description = "Type of the sort key: S, N or B."
  type        = string
  default     = "S"

  validation {
    condition     = contains(["S", "N", "B"], var.range_key_type)
    error_message = "range_key_type must be S, N or B."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding the expiry epoch seconds; null disables TTL."
  type        = string
  default     = null
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes; key types default to S and projection to ALL."
  type = list(object({
    name            = string
    hash_key        = string
    hash_key_type   = optional(string, "S")
    range_key       = optional(string)
    range_key_type  = optional(string, "S")
    projection_type = optional(string, "ALL")
  }))
  default = []

  validation {
    condition     = alltrue([for index in var.global_secondary_indexes : contains(["ALL", "KEYS_ONLY"], index.projection_type) && contains(["S", "N", "B"], index.hash_key_type) && contains(["S", "N", "B"], index.range_key_type)])
    error_message = "index key types must be S, N or B and projection_type ALL or KEYS_ONLY."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for encryption at rest; null uses the AWS-managed DynamoDB key."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse DeleteTable while true."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}

variable "stream_view_type" {
  description = "What the table's stream records hold (NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY); null: no stream."
  type        = string
  default     = null

  validation {
    condition     = var.stream_view_type == null || contains(["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"], coalesce(var.stream_view_type, "-"))
    error_message = "stream_view_type must be NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY or null."
  }
}
