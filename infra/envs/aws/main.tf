provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "stack" {
  source = "../.."

  manifest_path        = var.manifest_path
  allow_empty_manifest = var.allow_empty_manifest
  name_prefix          = var.name_prefix
  tables               = var.tables
  buckets              = var.buckets
  secrets              = var.secrets
  secret_values        = var.secret_values
  parameters           = var.parameters
  parameter_values     = var.parameter_values
  kms_keys             = var.kms_keys
  log_retention_days   = var.log_retention_days
  jwt_issuers          = var.jwt_issuers
}
