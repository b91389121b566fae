# Every service endpoint points at one emulator with fake credentials, so nothing here can reach real AWS: through
# the `endpoints` block, or with endpoint_from_environment through AWS_ENDPOINT_URL (the AWS SDK's endpoint for
# every service), which lambdafleet's own runs set. Should that variable be missing, requests go to AWS with the
# fake credentials below and the plan stops at the account lookup.
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

  # The provider spends ~3 s of CPU validating an `endpoints` block, in each of an apply's three walks (validate,
  # plan, apply): AWS_ENDPOINT_URL costs nothing.
  dynamic "endpoints" {
    for_each = var.endpoint_from_environment ? [] : [var.endpoint_url]
    content {
      apigatewayv2   = endpoints.value
      dynamodb       = endpoints.value
      events         = endpoints.value
      kinesis        = endpoints.value
      ecr            = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      lambda         = endpoints.value
      logs           = endpoints.value
      s3             = endpoints.value
      secretsmanager = endpoints.value
      sfn            = endpoints.value
      sns            = endpoints.value
      sqs            = endpoints.value
      ssm            = endpoints.value
      sts            = endpoints.value
    }
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
