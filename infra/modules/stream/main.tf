resource "aws_kinesis_stream" "this" {
  #checkov:skip=CKV_AWS_185:Encrypted with the AWS-managed Kinesis key; a customer-managed key is a per-deployment choice (kms_key_id).
  name             = var.name
  shard_count      = var.shard_count
  retention_period = var.retention_hours
  encryption_type  = "KMS"
  kms_key_id       = var.kms_key_id
  tags             = var.tags

  stream_mode_details {
    stream_mode = "PROVISIONED"
  }
}
