output "plan_role_arn" {
  description = "Set it as the repository variable AWS_PLAN_ROLE_ARN."
  value       = aws_iam_role.plan.arn
}

output "plan_policy_json" {
  description = "The plan role's policy, for review."
  value       = data.aws_iam_policy_document.plan.json
}
