variable "region" {
  description = "AWS region to deploy to."
  type        = string
}

variable "manifest_path" {
  description = "Path of build/manifest.json; null means the repository's build/manifest.json."
  type        = string
  default     = null
}

variable "allow_empty_manifest" {
  description = "Accept a manifest with no functions, destroying every deployed function (see infra/README.md)."
  type        = bool
  default     = false
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "lambdafleet-"
}

variable "tables" {
  description = "Override of the stack's declared tables (see infra/variables.tf); null keeps the stack's default."
  type        = any
  default     = null
}

variable "buckets" {
  description = "Override of the stack's declared buckets (see infra/variables.tf); null keeps the stack's default."
  type        = any
  default     = null
}

variable "log_retention_days" {
  description = "Retention of every log group, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Default tags for every resource."
  type        = map(string)
  default     = { Project = "lambdafleet" }
}

variable "jwt_issuers" {
  description = "Issuer URL per JWT authorizer of functions/api.toml (e.g. { users = \"https://cognito-idp.<region>.amazonaws.com/<pool-id>\" }); the local issuer those declare is never valid on AWS."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Override of the stack's declared secrets (see infra/variables.tf); null keeps the stack's default."
  type        = any
  default     = null
}

variable "secret_values" {
  description = "Values of secrets declared with generate = false (ephemeral: never in plan or state), e.g. from TF_VAR_secret_values."
  type        = map(string)
  default     = {}
  sensitive   = true
  ephemeral   = true
}

variable "parameters" {
  description = "Override of the stack's declared SSM parameters (see infra/variables.tf); null keeps the stack's default."
  type        = any
  default     = null
}

variable "parameter_values" {
  description = "Value of every declared parameter (ephemeral: never in plan or state), e.g. from TF_VAR_parameter_values."
  type        = map(string)
  default     = {}
  sensitive   = true
  ephemeral   = true
}

variable "kms_keys" {
  description = "Override of the stack's declared KMS keys (see infra/variables.tf); null keeps the stack's default."
  type        = any
  default     = null
}
