variable "endpoint_url" {
  description = "URL of the AWS emulator that receives every API call (LocalStack or `python -m lambdafleet.endpoint.emulator`)."
  type        = string
  default     = "http://localhost:4566"

  validation {
    condition     = can(regex("^https?://[^/]+/?$", var.endpoint_url)) && !can(regex("amazonaws\\.com", var.endpoint_url))
    error_message = "endpoint_url must be an emulator's http(s)://host:port, never an AWS endpoint."
  }
}

variable "endpoint_from_environment" {
  description = "true: the provider takes endpoint_url from the AWS_ENDPOINT_URL environment variable, which must equal it, instead of an `endpoints` block (~3 s of provider CPU saved per Terraform walk). build.py up, the tests and the benchmarks set both."
  type        = bool
  default     = false
}

variable "region" {
  description = "Region name the emulator reports."
  type        = string
  default     = "us-east-1"
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
