terraform {
  required_version = ">= 1.11.0"

  # State stays on this machine: a local stack must never touch real-AWS remote state.
  backend "local" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 7.0.0"
    }
  }
}
