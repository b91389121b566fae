"""lambdafleet: build, provision and run a fleet of Python AWS Lambda functions."""

# Part of every cache key: bump it whenever a change alters the bytes a build produces.
BUILDER_VERSION = "4"

# infra's default `name_prefix`: commands that find deployed resources by name (push, logs) start from it.
DEFAULT_NAME_PREFIX = "lambdafleet-"
