variable "name" {
  description = "Name of the ECR repository."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._/-][a-z0-9]+)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name must be 2-256 lower-case letters and digits, separated by '.', '_', '-' or '/'."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for image encryption; null uses AES256."
  type        = string
  default     = null
}

variable "keep_images" {
  description = "Number of most recent images kept; older ones expire."
  type        = number
  default     = 10

  validation {
    condition     = var.keep_images >= 1
    error_message = "keep_images must be at least 1."
  }
}

variable "force_delete" {
  description = "Let terraform destroy delete a repository that still holds images (for throw-away environments)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the repository."
  type        = map(string)
  default     = {}
}
