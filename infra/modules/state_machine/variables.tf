variable "name" {
  description = "Name of the state machine."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,80}$", var.name))
    error_message = "name must be 1-80 letters, digits, '-' or '_'."
  }
}

variable "description" {
  description = "Comment of the state machine definition."
  type        = string
  default     = ""
}

variable "steps" {
  description = "Lambda functions run one after another, each getting the previous one's result: state name and function ARN."
  type = list(object({
    name = string
    arn  = string
  }))

  validation {
    condition     = length(var.steps) > 0 && length(distinct(var.steps[*].name)) == length(var.steps)
    error_message = "steps must be a non-empty list with unique names."
  }
}

variable "log_level" {
  description = "Execution log level: ALL, ERROR or FATAL."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}

variable "log_retention_days" {
  description = "Retention of the execution log group, in days."
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
