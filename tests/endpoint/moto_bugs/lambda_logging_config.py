"""moto bug: Lambda drops a function's LoggingConfig; GetFunctionConfiguration does not report it.

AWS stores LoggingConfig and reports it with the defaults it fills in (LogFormat Text, LogGroup
/aws/lambda/NAME; with JSON, INFO application and system levels). Without it, every `terraform plan` of a function
with a logging_config block shows a change.

Standalone (moto and boto3): `python lambda_logging_config.py` exits non-zero on moto 5.2.5.
"""

import io
import json
import os
import zipfile

import boto3
from moto import mock_aws

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


with mock_aws():
    role = boto3.client("iam").create_role(RoleName="repro", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    client = boto3.client("lambda")
    common = {"Role": role["Arn"], "Handler": "lambda_function.lambda_handler", "Runtime": "python3.12"}
    client.create_function(FunctionName="text", Code={"ZipFile": handler_zip()}, **common)
    client.create_function(
        FunctionName="json", Code={"ZipFile": handler_zip()}, LoggingConfig={"LogFormat": "JSON"}, **common
    )

    text = client.get_function_configuration(FunctionName="text").get("LoggingConfig")
    assert text == {"LogFormat": "Text", "LogGroup": "/aws/lambda/text"}, text
    structured = client.get_function_configuration(FunctionName="json").get("LoggingConfig")
    expected = {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
        "LogGroup": "/aws/lambda/json",
    }
    assert structured == expected, structured

    client.update_function_configuration(FunctionName="json", LoggingConfig={"LogFormat": "Text"})
    updated = client.get_function_configuration(FunctionName="json").get("LoggingConfig")
    assert updated == {"LogFormat": "Text", "LogGroup": "/aws/lambda/json"}, updated
