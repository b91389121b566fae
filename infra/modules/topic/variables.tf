variable "name" {
  description = "Name of the topic, without the .fifo suffix (added for FIFO topics)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,251}$", var.name))
    error_message = "name must be 1-251 letters, digits, '-' or '_'."
  }
}

variable "fifo" {
  description = "A FIFO topic (content-based deduplication on)."
  type        = bool
  default     = false
}

variable "kms_key_id" {
  description = "KMS key encrypting messages at rest; the AWS-managed SNS key by default."
  type        = string
  default     = "alias/aws/sns"
}

variable "tags" {
  description = "Tags for the topic."
  type        = map(string)
  default     = {}
}
