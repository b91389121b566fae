variable "name" {
  description = "Name of the EventBridge event bus."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.name)) && var.name != "default"
    error_message = "name must be 1-256 letters, digits, '.', '_' or '-', and not 'default' (which always exists)."
  }
}

variable "tags" {
  description = "Tags for the bus."
  type        = map(string)
  default     = {}
}
