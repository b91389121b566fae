# Every service endpoint points at one emulator with fake credentials, so nothing here can reach real AWS.
provider "aws" {
  region     = var.region
  access_key = "test"
  secret_key = "test"

  # moto's account and LocalStack's: a real account is refused even if the endpoint were wrong.
  allowed_account_ids = ["123456789012", "000000000000"]

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    apigatewayv2   = var.endpoint_url
    dynamodb       = var.endpoint_url
    events         = var.endpoint_url
    kinesis        = var.endpoint_url
    ecr            = var.endpoint_url
    iam            = var.endpoint_url
    kms            = var.endpoint_url
    lambda         = var.endpoint_url
    logs           = var.endpoint_url
    s3             = var.endpoint_url
    secretsmanager = var.endpoint_url
    sfn            = var.endpoint_url
    sns            = var.endpoint_url
    sqs            = var.endpoint_url
    ssm            = var.endpoint_url
    sts            = var.endpoint_url
  }

  default_tags {
    tags = {
      Project     = "lambdafleet"
      Environment = "local"
    }
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
  force_destroy        = true
  # The emulator serves plain HTTP on loopback, and moto enforces bucket policies.
  enforce_tls = false
  # moto never expires objects, and the AWS provider waits 30-60 s per apply for lifecycle rules to settle.
  bucket_lifecycle_rules = false
}

locals {
  # ":4566" of http://127.0.0.1:4566, for the addresses the embedded endpoint serves function URLs on.
  endpoint_port = try(regex("^https?://[^/:]+(:[0-9]+)", var.endpoint_url)[0], "")
}
