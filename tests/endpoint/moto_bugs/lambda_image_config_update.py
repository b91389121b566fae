"""moto bug: UpdateFunctionConfiguration ignores ImageConfig; the image function keeps its old settings.

AWS replaces the whole ImageConfig (a setting the update leaves out is no longer overridden, `{}` removes them
all), as LocalStack's recorded AWS snapshot of TestLambdaImages.test_lambda_image_and_image_config_crud shows.
Without it, `terraform apply` of a changed `image_config` block reports success and changes nothing.

Standalone (moto and boto3): `python lambda_image_config_update.py` exits non-zero on moto 5.2.5.
"""

import json
import os

import boto3
from moto import mock_aws

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}

with mock_aws():
    role = boto3.client("iam").create_role(RoleName="repro", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    client = boto3.client("lambda")
    client.create_function(
        FunctionName="image",
        Role=role["Arn"],
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag"},
        ImageConfig={"EntryPoint": ["sh"], "Command": ["-c", "echo test"], "WorkingDirectory": "/app1"},
    )
    client.get_waiter("function_active_v2").wait(FunctionName="image")
    client.update_function_configuration(
        FunctionName="image", ImageConfig={"Command": ["-c", "echo test1"], "WorkingDirectory": "/app1"}
    )
    image_config = client.get_function_configuration(FunctionName="image")["ImageConfigResponse"]["ImageConfig"]
    assert image_config == {"Command": ["-c", "echo test1"], "WorkingDirectory": "/app1"}, image_config
