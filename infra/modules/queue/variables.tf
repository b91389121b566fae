variable "name" {
  description = "Name of the queue, without the .fifo suffix (added for FIFO queues)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,71}$", var.name))
    error_message = "name must be 1-71 letters, digits, '-' or '_' (room for -dlq.fifo within SQS's 80)."
  }
}

variable "fifo" {
  description = "A FIFO queue (ordered per message group, exactly-once within the deduplication interval)."
  type        = bool
  default     = false
}

variable "content_based_deduplication" {
  description = "FIFO only: deduplicate on the body's SHA-256 when the sender gives no deduplication id."
  type        = bool
  default     = false
}

variable "visibility_timeout" {
  description = "Seconds a received message stays hidden (0-43200); at least the consuming function's timeout."
  type        = number
  default     = 30

  validation {
    condition     = var.visibility_timeout >= 0 && var.visibility_timeout <= 43200
    error_message = "visibility_timeout must be between 0 and 43200 seconds."
  }
}

variable "message_retention" {
  description = "Seconds a message is kept (60-1209600)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention >= 60 && var.message_retention <= 1209600
    error_message = "message_retention must be between 60 and 1209600 seconds."
  }
}

variable "delay" {
  description = "Seconds before a new message becomes visible (0-900)."
  type        = number
  default     = 0

  validation {
    condition     = var.delay >= 0 && var.delay <= 900
    error_message = "delay must be between 0 and 900 seconds."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue <name>-dlq; 0 creates no DLQ."
  type        = number
  default     = 0

  validation {
    condition     = var.max_receive_count >= 0 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 0 (no DLQ) and 1000."
  }
}

variable "tags" {
  description = "Tags for the queues."
  type        = map(string)
  default     = {}
}
