data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  # The manifest's shape: lambdafleet/build/manifest.schema.json.
  manifest_path = coalesce(var.manifest_path, "${path.module}/../build/manifest.json")
  manifest      = jsondecode(file(local.manifest_path))
  build_dir     = dirname(local.manifest_path)
  chains        = try(local.manifest.chains, {})

  functions = local.manifest.functions
  # functions/api.toml (manifests from before it existed have no "api").
  api = merge({ cors = null, throttling = null, authorizers = {}, routes = {} }, try(local.manifest.api, {}))
  authorizers = {
    for name, authorizer in local.api.authorizers : name => {
      type             = authorizer.type
      identity_sources = authorizer.identity_sources
      issuer           = authorizer.type == "jwt" ? lookup(var.jwt_issuers, name, authorizer.issuer) : null
      audience         = try(authorizer.audience, null)
      function_name    = authorizer.type == "lambda" ? module.function[authorizer.function].function_name : null
      invoke_arn       = authorizer.type == "lambda" ? module.function[authorizer.function].invoke_arn : null
      simple_responses = try(authorizer.simple_responses, true)
      result_ttl       = try(authorizer.result_ttl, 0)
    }
  }
  layers = try(local.manifest.layers, {})
  # One layer version per layer and target ("<layer>/<runtime>-<architecture>"), as build.py builds them.
  layer_builds = merge([
    for name, layer in local.layers : {
      for target, build in layer.builds : "${name}/${target}" => merge(build, {
        layer        = name
        description  = layer.description
        runtime      = split("-", target)[0]
        architecture = split("-", target)[1]
      })
    }
  ]...)
  image_functions = { for name, function in local.functions : name => function if try(function.package_type, "zip") == "image" }

  account_id = data.aws_caller_identity.current.account_id
  # Destinations point at sibling instances of module.function, which cannot reference each other; their ARNs
  # follow from the names.
  function_arns = {
    for name in keys(local.functions) :
    name => "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${local.account_id}:function:${var.name_prefix}${name}"
  }

  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  # Names this stack gives the resources it creates for functions' grants, by "<type>:<key>".
  resource_names = merge(
    { for name in keys(var.tables) : "table:${name}" => "${var.name_prefix}${name}" },
    { for name in keys(var.buckets) : "bucket:${name}" => "${var.name_prefix}${replace(name, "_", "-")}-${local.account_id}" },
    { for name in keys(var.secrets) : "secret:${name}" => "${var.name_prefix}${name}" },
    { for name in keys(var.parameters) : "parameter:${name}" => "/${var.name_prefix}${name}" },
  )
  # The ARN of every resource a grant may name (build/permissions.py's types). Tables and buckets are built from
  # the names rather than taken from module.bucket, which itself depends on module.function through its
  # notifications: the references would form a cycle; functions likewise (destinations, invoke grants).
  resource_arns = merge(
    { for name in keys(var.tables) : "table:${name}" => "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.resource_names["table:${name}"]}" },
    { for name in keys(var.buckets) : "bucket:${name}" => "arn:${local.partition}:s3:::${local.resource_names["bucket:${name}"]}" },
    { for name, queue in module.queue : "queue:${name}" => queue.arn },
    { for name, topic in module.topic : "topic:${name}" => topic.arn },
    { for name, stream in module.stream : "stream:${name}" => stream.arn },
    { for name, bus in module.event_bus : "bus:${name}" => bus.arn },
    { "bus:default" = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default" },
    { for name, arn in local.function_arns : "function:${name}" => arn },
    { for name, secret in aws_secretsmanager_secret.this : "secret:${name}" => secret.arn },
    { for name in keys(var.parameters) : "parameter:${name}" => "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.resource_names["parameter:${name}"]}" },
    { for name, key in aws_kms_key.this : "key:${name}" => key.arn },
  )
  # What the function is told in <TYPE>_<KEY>: what its SDK calls take (a queue's URL, a topic's and a key's ARN,
  # other resources' names).
  grant_values = merge(
    local.resource_names,
    { for name, queue in module.queue : "queue:${name}" => queue.url },
    { for name, topic in module.topic : "topic:${name}" => topic.arn },
    { for name, stream in module.stream : "stream:${name}" => stream.name },
    { for name, bus in module.event_bus : "bus:${name}" => bus.name },
    { "bus:default" = "default" },
    { for name in keys(local.functions) : "function:${name}" => "${var.name_prefix}${name}" },
    { for name, key in aws_kms_key.this : "key:${name}" => key.arn },
  )
  # Where each type is declared, for the plan's error naming an undeclared one.
  declared_in = {
    table = "var.tables", bucket = "var.buckets", secret = "var.secrets", parameter = "var.parameters", key = "var.kms_keys",
    queue = "functions/resources.toml", topic = "functions/resources.toml", stream = "functions/resources.toml",
    bus   = "functions/resources.toml", function = "the manifest"
  }
  # Manifests written before build/permissions.py carry only table/bucket levels: their old action lists.
  legacy_allow = {
    table = {
      read       = [{ actions = ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], suffix = "" }]
      write      = [{ actions = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], suffix = "" }]
      read_write = [{ actions = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"], suffix = "" }]
    }
    bucket = {
      read       = [{ actions = ["s3:ListBucket"], suffix = "" }, { actions = ["s3:GetObject"], suffix = "/*" }]
      write      = [{ actions = ["s3:DeleteObject", "s3:PutObject"], suffix = "/*" }]
      read_write = [{ actions = ["s3:ListBucket"], suffix = "" }, { actions = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], suffix = "/*" }]
    }
  }

  undeclared_permissions = flatten([
    for name, function in local.functions : [
      for permission in function.permissions : "functions.${name}.permissions names ${permission.type} '${permission.name}', which is not declared in ${local.declared_in[permission.type]}"
      if !contains(keys(local.resource_arns), "${permission.type}:${permission.name}")
    ]
  ])
  # A destination is a function's name, or "queue:<name>" / "topic:<name>" of functions/resources.toml.
  destination_targets = merge([
    for name, function in local.functions : {
      for kind, target in function.destinations : "${name}/${kind}" => {
        function = name
        kind     = kind
        type     = length(split(":", target)) > 1 ? split(":", target)[0] : "function"
        name     = element(split(":", target), length(split(":", target)) - 1)
      } if target != null
    }
  ]...)
  destination_arns_by_type = { queue = local.queue_arns, topic = local.topic_arns, function = local.function_arns }
  destination_services     = { queue = "sqs", topic = "sns", function = "lambda" }
  # module.function's destinations: { arn, service } or null per kind (an undeclared target: null, and the plan
  # stops at manifest_check, which names it).
  destination_arns = {
    for name, function in local.functions : name => {
      for kind in keys(function.destinations) : kind => (
        !contains(keys(local.destination_targets), "${name}/${kind}") ? null :
        !contains(lookup(local.destination_names, local.destination_targets["${name}/${kind}"].type, []), local.destination_targets["${name}/${kind}"].name) ? null : {
          arn     = local.destination_arns_by_type[local.destination_targets["${name}/${kind}"].type][local.destination_targets["${name}/${kind}"].name]
          service = local.destination_services[local.destination_targets["${name}/${kind}"].type]
        }
      )
    }
  }
  # Decided on names, known at plan time (the ARNs of queues and topics are not, before they exist).
  destination_names = { queue = keys(local.queues), topic = keys(local.topics), function = keys(local.functions) }
  unknown_destinations = [
    for d in values(local.destination_targets) : (
      d.type == "function"
      ? "functions.${d.function}.destinations.${d.kind} names function '${d.name}', which is not in the manifest"
      : "functions.${d.function}.destinations.${d.kind} names ${d.type} '${d.name}', which is not declared in functions/resources.toml"
    ) if !contains(lookup(local.destination_names, d.type, []), d.name)
  ]
  # build.py allows 64-character names; the prefix this stack adds must still leave Lambda's and IAM's 64.
  names_too_long = [
    for name in keys(local.functions) : "functions.${name}: '${var.name_prefix}${name}' is over the 64 characters Lambda and IAM allow; shorten the folder name or name_prefix"
    if length("${var.name_prefix}${name}") > 64
  ]
  unknown_notified = [
    for name, bucket in var.buckets : "var.buckets.${name}.notify_function names function '${bucket.notify_function}', which is not in the manifest"
    if bucket.notify_function != null && !contains(keys(local.functions), coalesce(bucket.notify_function, "-"))
  ]

  # An empty manifest (a broken or empty functions/) would make apply destroy every deployed function.
  empty_manifest = length(local.functions) == 0 && !var.allow_empty_manifest ? [
    "functions is empty: applying it would destroy every deployed function; rebuild with python build.py all, or set allow_empty_manifest = true to mean it"
  ] : []

  manifest_problems = concat(local.empty_manifest, local.undeclared_permissions, local.unknown_destinations, local.unknown_notified, local.names_too_long, local.undeclared_trigger_sources)

  integrations = {
    for name, function in local.functions : name => {
      function_name = module.function[name].function_name
      invoke_arn    = module.function[name].invoke_arn
      route_keys    = function.routes
      # Manifests written before the key existed mean API Gateway's current format.
      payload_format_version = try(function.payload_format_version, "2.0")
    } if length(function.routes) > 0
  }
}

# Fails the plan, naming the file and key, when the manifest and the declared resources disagree.
resource "terraform_data" "manifest_check" {
  input = local.manifest_path

  lifecycle {
    precondition {
      condition     = length(local.manifest_problems) == 0
      error_message = "${local.manifest_path}: ${join("; ", local.manifest_problems)}"
    }
  }
}

module "artifacts" {
  source = "./modules/bucket"

  name            = "${var.name_prefix}artifacts-${local.account_id}"
  force_destroy   = var.force_destroy
  enforce_tls     = var.enforce_tls
  lifecycle_rules = var.bucket_lifecycle_rules
  tags            = var.tags
}

module "table" {
  source   = "./modules/table"
  for_each = var.tables

  name                     = local.resource_names["table:${each.key}"]
  hash_key                 = each.value.hash_key
  hash_key_type            = each.value.hash_key_type
  range_key                = each.value.range_key
  range_key_type           = each.value.range_key_type
  ttl_attribute            = each.value.ttl_attribute
  global_secondary_indexes = each.value.global_secondary_indexes
  # A dynamodb_stream trigger on the table turns its stream on.
  stream_view_type = contains(local.stream_table_names, each.key) ? "NEW_AND_OLD_IMAGES" : null
  tags             = var.tags
}

module "bucket" {
  source   = "./modules/bucket"
  for_each = var.buckets

  name            = local.resource_names["bucket:${each.key}"]
  force_destroy   = var.force_destroy
  enforce_tls     = var.enforce_tls
  lifecycle_rules = var.bucket_lifecycle_rules
  tags            = var.tags
  # var.buckets' notify_function, plus every s3 trigger naming this bucket.
  notifications = merge(each.value.notify_function == null || !contains(keys(local.functions), coalesce(each.value.notify_function, "-")) ? {} : {
    (each.value.notify_function) = {
      function_arn  = module.function[each.value.notify_function].arn
      function_name = module.function[each.value.notify_function].function_name
      events        = each.value.notify_events
      filter_prefix = each.value.notify_prefix
      filter_suffix = each.value.notify_suffix
    }
    }, {
    for key, n in local.s3_trigger_notifications : replace(key, "/", "-") => {
      function_arn  = n.function_arn
      function_name = n.function_name
      events        = n.events
      filter_prefix = n.filter_prefix
      filter_suffix = n.filter_suffix
    } if n.bucket == each.key
  })
}

module "ecr_repository" {
  source   = "./modules/ecr_repository"
  for_each = local.image_functions

  # The repository `python build.py push <name> [--prefix <name_prefix>]` pushes to by default.
  name         = lower("${var.name_prefix}${each.key}")
  force_delete = var.force_destroy
  tags         = var.tags
}

# Local zips go through the artifact bucket: Lambda takes large packages only from S3, and the provider
# serialises direct uploads. A zip the build already uploaded (manifest "s3") is used where it is.
resource "aws_s3_object" "package" {
  #checkov:skip=CKV_AWS_186:The bucket's default encryption (SSE-S3, or the bucket's KMS key) applies to every package.
  for_each = { for name, function in local.functions : name => function if function.zip != null && function.s3 == null }

  bucket = module.artifacts.name
  # Not build.py --upload's lambda/ prefix: when a function moves to uploaded zips, destroying this object must
  # not delete the one build.py just put at the same content-addressed key.
  key         = "terraform-packages/${each.key}/${each.value.sha256}.zip"
  source      = "${local.build_dir}/${each.value.zip}"
  source_hash = each.value.source_code_hash
  tags        = var.tags
}

resource "aws_s3_object" "layer_package" {
  #checkov:skip=CKV_AWS_186:The bucket's default encryption (SSE-S3, or the bucket's KMS key) applies to every package.
  for_each = { for key, build in local.layer_builds : key => build if build.s3 == null }

  bucket      = module.artifacts.name
  key         = "terraform-packages/layers/${each.key}/${each.value.sha256}.zip"
  source      = "${local.build_dir}/${each.value.zip}"
  source_hash = each.value.source_code_hash
  tags        = var.tags
}

resource "aws_lambda_layer_version" "layer" {
  for_each = local.layer_builds

  # Lambda layer names allow letters, digits, '-' and '_': python3.12 becomes python3_12.
  layer_name               = "${var.name_prefix}${each.value.layer}-${replace(each.value.runtime, ".", "_")}-${each.value.architecture}"
  description              = each.value.description
  s3_bucket                = try(each.value.s3.bucket, aws_s3_object.layer_package[each.key].bucket)
  s3_key                   = try(each.value.s3.key, aws_s3_object.layer_package[each.key].key)
  source_code_hash         = each.value.source_code_hash
  compatible_runtimes      = [each.value.runtime]
  compatible_architectures = [each.value.architecture]
}

module "function" {
  source   = "./modules/function"
  for_each = local.functions

  function_name     = "${var.name_prefix}${each.key}"
  description       = each.value.description
  package_type      = title(try(each.value.package_type, "zip"))
  s3_bucket         = try(each.value.s3.bucket, aws_s3_object.package[each.key].bucket, null)
  s3_key            = try(each.value.s3.key, aws_s3_object.package[each.key].key, null)
  s3_object_version = try(each.value.s3.version_id, aws_s3_object.package[each.key].version_id, null)
  source_code_hash  = each.value.source_code_hash
  image_uri         = contains(keys(local.image_functions), each.key) ? "${module.ecr_repository[each.key].repository_url}:${each.value.image.tag}" : null
  runtime           = each.value.runtime
  handler           = each.value.handler
  architecture      = each.value.architecture
  # In the order function.toml lists them: Lambda extracts them into /opt in this order.
  layers             = [for layer in try(each.value.layers, []) : aws_lambda_layer_version.layer["${layer}/${each.value.runtime}-${each.value.architecture}"].arn]
  memory_size        = each.value.memory_size
  timeout            = each.value.timeout
  ephemeral_storage  = each.value.ephemeral_storage
  logging_format     = each.value.logging_format
  log_retention_days = var.log_retention_days
  tags               = var.tags

  # Each held permission also tells the code the real resource, as <TYPE>_<NAME> (TABLE_ITEMS, SECRET_API_KEY...).
  # (Several grants may name one resource: an index and its table, two keys of a bucket.)
  environment = merge(each.value.environment, {
    for variable, values in {
      for permission in each.value.permissions :
      "${upper(permission.type)}_${upper(replace(permission.name, "-", "_"))}" => lookup(local.grant_values, "${permission.type}:${permission.name}", "")...
    } : variable => values[0]
  })

  # Exact actions on exact ARNs: the manifest's resolved levels (build/permissions.py), on the resource's ARN plus
  # the grant's suffix (an index, a bucket's objects or keys).
  grants = flatten([
    for permission in each.value.permissions : [
      for rule in try(permission.allow, local.legacy_allow[permission.type][permission.access]) : {
        type    = permission.type
        actions = rule.actions
        arn     = "${lookup(local.resource_arns, "${permission.type}:${permission.name}", "")}${rule.suffix}"
      }
    ]
  ])

  # permissions.statements, with the placeholders filled in.
  statements = [
    for statement in try(each.value.statements, []) : {
      actions = statement.actions
      resources = [
        for resource in statement.resources :
        replace(replace(replace(replace(resource, "{partition}", local.partition), "{region}", local.region), "{account}", local.account_id), "{prefix}", var.name_prefix)
      ]
      conditions = statement.conditions
    }
  ]

  trigger_statements = local.trigger_statements[each.key]

  destinations = local.destination_arns[each.key]

  reserved_concurrency = try(each.value.reserved_concurrency, null)
}

module "http_api" {
  source = "./modules/http_api"
  count  = length(local.integrations) > 0 ? 1 : 0

  name               = "${var.name_prefix}api"
  integrations       = local.integrations
  cors               = local.api.cors
  throttling         = local.api.throttling
  authorizers        = local.authorizers
  route_settings     = local.api.routes
  log_retention_days = var.log_retention_days
  tags               = var.tags
}

module "function_url" {
  source   = "./modules/function_url"
  for_each = { for name, function in local.functions : name => function.function_url if try(function.function_url, null) != null }

  function_name = module.function[each.key].function_name
  auth_type     = each.value.auth_type
  cors          = each.value.cors
}

module "state_machine" {
  source   = "./modules/state_machine"
  for_each = local.chains

  name               = "${var.name_prefix}${each.key}"
  description        = try(each.value.description, "")
  steps              = [for step in each.value.steps : { name = step, arn = module.function[step].arn }]
  log_retention_days = var.log_retention_days
  tags               = var.tags
}
