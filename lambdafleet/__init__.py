"""lambdafleet: build, provision and run a fleet of Python AWS Lambda functions."""

# Part of every cache key: bump it whenever a change alters the bytes a build produces.
BUILDER_VERSION = "2"
