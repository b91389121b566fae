"""lambdafleet: build, provision and run a fleet of Python AWS Lambda functions."""
