variable "function_name" {
  description = "Name of the function the URL invokes."
  type        = string
}

variable "auth_type" {
  description = "AWS_IAM (callers sign with SigV4 and need lambda:InvokeFunctionUrl) or NONE (public)."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.auth_type)
    error_message = "auth_type must be AWS_IAM or NONE."
  }
}

variable "cors" {
  description = "The URL's own CORS configuration; null for none."
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
