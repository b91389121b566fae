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
