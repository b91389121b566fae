variable "region" {
  description = "Region of the stack the pipeline plans (the one infra/envs/aws deploys to)."
  type        = string
}

variable "github_repository" {
  description = "The repository whose pull requests may assume the plan role, as \"owner/name\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be \"owner/name\"."
  }
}

variable "state_bucket" {
  description = "The S3 bucket holding Terraform's state (backend.hcl's `bucket`)."
  type        = string
}

variable "state_key" {
  description = "The state object's key in state_bucket (backend.hcl's `key`)."
  type        = string
  default     = "lambdafleet/terraform.tfstate"
}

variable "name_prefix" {
  description = "The stack's name_prefix: the plan role may describe only resources whose names start with it."
  type        = string
  default     = "lambdafleet-"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,20}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 20 lower-case letters, digits or '-' (an empty prefix would scope nothing)."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the account's existing GitHub OIDC provider (token.actions.githubusercontent.com); null creates one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the role and, when created, the OIDC provider."
  type        = map(string)
  default     = {}
}
