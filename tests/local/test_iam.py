"""Functions run as their execution role, and the embedded endpoint enforces IAM on what they sign with it: the
error each service answers when the role lacks a permission, a fix by PutRolePolicy, a bucket policy's Deny over
the role's Allow, the developer's keys unaffected, and the access report of calls against grants."""

import json
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.conftest import LAMBDA_TRUST, REPO_ROOT, Endpoint

# The function performs the call the event names, and returns the error code and message when it is refused.
CALLER = """
import os, boto3
from botocore.exceptions import ClientError

def lambda_handler(event, context):
    op = event["op"]
    try:
        if op == "identity":
            return {"arn": boto3.client("sts").get_caller_identity()["Arn"],
                    "key": os.environ["AWS_ACCESS_KEY_ID"], "token": bool(os.environ.get("AWS_SESSION_TOKEN"))}
        if op == "put_item":
            boto3.client("dynamodb").put_item(TableName=event["table"], Item={"id": {"S": "1"}})
        elif op == "get_object":
            boto3.client("s3").get_object(Bucket=event["bucket"], Key=event["key"])
        elif op == "put_object":
            boto3.client("s3").put_object(Bucket=event["bucket"], Key=event["key"], Body=b"x")
        elif op == "invoke":
            boto3.client("lambda").invoke(FunctionName=event["function"], Payload=b"{}")
        elif op == "send_message":
            boto3.client("sqs").send_message(QueueUrl=event["queue"], MessageBody="x")
        elif op == "publish":
            boto3.client("sns").publish(TopicArn=event["topic"], Message="x")
        elif op == "get_secret":
            boto3.client("secretsmanager").get_secret_value(SecretId=event["secret"])
        elif op == "get_parameter":
            boto3.client("ssm").get_parameter(Name=event["parameter"])
        return {"ok": True}
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"].get("Message", ""),
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"]}
"""
ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture
def role(embedded: Endpoint) -> str:
    """A fresh execution role with no permissions."""
    name = f"iam-test-{uuid.uuid4().hex[:8]}"
    iam = embedded.client("iam")
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]


@pytest.fixture
def caller(embedded: Endpoint, deploy_function: Callable[..., dict], role: str) -> Callable[[dict], dict]:
    """`caller(event)`: invoke a function running as `role` that performs the call `event` names."""
    name = deploy_function(CALLER, Role=role, Timeout=30)["FunctionName"]
    client = embedded.client("lambda")

    def call(event: dict) -> dict:
        answer = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        result: dict = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, result
        return result

    call.function_name = name  # type: ignore[attr-defined]
    return call


def _allow(embedded: Endpoint, role_arn: str, action: str, resource: str, name: str = "grant") -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    embedded.client("iam").put_role_policy(
        RoleName=role_arn.split("/")[-1], PolicyName=name, PolicyDocument=json.dumps(document)
    )


def _session(role_arn: str, function_name: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_arn.split('/')[-1]}/{function_name}"


def test_the_function_runs_with_credentials_of_its_role(caller: Callable[[dict], Any], role: str) -> None:
    identity = caller({"op": "identity"})
    assert identity["arn"] == _session(role, caller.function_name)  # type: ignore[attr-defined]
    assert identity["key"].startswith("ASIA") and identity["token"]


def test_dynamodb_put_without_permission_is_refused_as_aws_does_until_granted(
    embedded: Endpoint, caller: Callable[[dict], Any], role: str
) -> None:
    table = f"t-{uuid.uuid4().hex[:8]}"
    embedded.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    refused = caller({"op": "put_item", "table": table})
    assert refused == {
        "code": "AccessDeniedException",
        "message": f"User: {_session(role, caller.function_name)} is not authorized to perform: "  # type: ignore[attr-defined]
        f"dynamodb:PutItem on resource: {table_arn} because no identity-based policy allows the dynamodb:PutItem "
        "action",
        "status": 400,
    }
    _allow(embedded, role, "dynamodb:PutItem", table_arn)
    assert caller({"op": "put_item", "table": table}) == {"ok": True}
    # the developer's keys are not the function's: full access as before
    embedded.client("dynamodb").put_item(TableName=table, Item={"id": {"S": "2"}})


def test_a_deny_in_the_bucket_policy_wins_over_the_roles_allow(
    embedded: Endpoint, caller: Callable[[dict], Any], role: str
) -> None:
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    s3 = embedded.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret/k", Body=b"x")
    s3.put_object(Bucket=bucket, Key="public/k", Body=b"x")
    _allow(embedded, role, "s3:GetObject", f"arn:aws:s3:::{bucket}/*")
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": role},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/secret/*",
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    assert caller({"op": "get_object", "bucket": bucket, "key": "public/k"}) == {"ok": True}
    refused = caller({"op": "get_object", "bucket": bucket, "key": "secret/k"})
    assert refused == {
        "code": "AccessDenied",
        "message": f"User: {_session(role, caller.function_name)} is not authorized to perform: s3:GetObject on "  # type: ignore[attr-defined]
        f'resource: "arn:aws:s3:::{bucket}/secret/k" with an explicit deny in a resource-based policy',
        "status": 403,
    }
    # no Allow for PutObject anywhere: implicitly denied
    assert caller({"op": "put_object", "bucket": bucket, "key": "public/new"})["code"] == "AccessDenied"
    s3.get_object(Bucket=bucket, Key="secret/k")  # the developer's keys: the bucket policy names the role only


def test_each_service_answers_a_refusal_in_its_own_shape(
    embedded: Endpoint, caller: Callable[[dict], Any], deploy_function: Callable[..., dict], role: str
) -> None:
    queue = embedded.client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    topic = embedded.client("sns").create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    secret = embedded.client("secretsmanager").create_secret(Name=f"s-{uuid.uuid4().hex[:8]}", SecretString="v")
    parameter = f"/p/{uuid.uuid4().hex[:8]}"
    embedded.client("ssm").put_parameter(Name=parameter, Value="v", Type="String")
    target = deploy_function("def lambda_handler(event, context):\n    return 1\n")["FunctionName"]
    session = _session(role, caller.function_name)  # type: ignore[attr-defined]

    def because(action: str) -> str:
        return f"because no identity-based policy allows the {action} action"

    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue.rsplit('/', 1)[1]}"
    cases = [
        (
            {"op": "invoke", "function": target},
            "AccessDeniedException",
            403,
            f"User: {session} is not authorized to perform: lambda:InvokeFunction on resource: "
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{target} {because('lambda:InvokeFunction')}",
        ),
        (
            {"op": "send_message", "queue": queue},
            "AccessDenied",
            403,
            f"User: {session} is not authorized to perform: sqs:sendmessage on resource: {queue_arn} "
            f"{because('sqs:sendmessage')}",
        ),
        (
            {"op": "publish", "topic": topic},
            "AuthorizationError",
            403,
            f"User: {session} is not authorized to perform: SNS:Publish on resource: {topic} {because('SNS:Publish')}",
        ),
        (
            {"op": "get_secret", "secret": secret["Name"]},
            "AccessDeniedException",
            400,
            f"User: {session} is not authorized to perform: secretsmanager:GetSecretValue on resource: "
            f"{secret['ARN']} {because('secretsmanager:GetSecretValue')}",
        ),
        (
            {"op": "get_parameter", "parameter": parameter},
            "AccessDeniedException",
            400,
            f"User: {session} is not authorized to perform: ssm:GetParameter on resource: "
            f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{parameter} {because('ssm:GetParameter')}",
        ),
    ]
    for event, code, status, message in cases:
        assert caller(event) == {"code": code, "message": message, "status": status}, event
    _allow(embedded, role, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{target}")
    _allow(embedded, role, "sqs:SendMessage", queue_arn, name="queue")
    _allow(embedded, role, "sns:Publish", topic, name="topic")
    _allow(embedded, role, "secretsmanager:GetSecretValue", secret["ARN"], name="secret")
    _allow(embedded, role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/p/*", name="parameter")
    for event, *_ in cases:
        assert caller(event) == {"ok": True}, event


def test_the_access_report_lists_calls_denials_and_unused_grants(
    embedded: Endpoint, caller: Callable[[dict], Any], role: str
) -> None:
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    embedded.client("s3").create_bucket(Bucket=bucket)
    embedded.client("s3").put_object(Bucket=bucket, Key="k", Body=b"x")
    _allow(embedded, role, "s3:GetObject", f"arn:aws:s3:::{bucket}/*", name="read")
    _allow(embedded, role, "dynamodb:GetItem", "*", name="unused")
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{caller.function_name}"  # type: ignore[attr-defined]
    _allow(embedded, role, "logs:PutLogEvents", f"{group}:*", name="logs")
    caller({"op": "get_object", "bucket": bucket, "key": "k"})
    caller({"op": "put_object", "bucket": bucket, "key": "k"})
    with urllib.request.urlopen(f"{embedded.url}/_lambdafleet/access", timeout=10) as answer:
        report = json.load(answer)["functions"][caller.function_name]  # type: ignore[attr-defined]
    assert report["role"] == role
    calls = {(call["action"], call["resource"], call["allowed"]) for call in report["calls"]}
    assert (("s3:GetObject", f"arn:aws:s3:::{bucket}/k", True)) in calls
    assert (("s3:PutObject", f"arn:aws:s3:::{bucket}/k", False)) in calls
    assert report["unused_grants"] == [{"policy": "unused", "action": "dynamodb:GetItem", "resource": "*"}]
    # Lambda writes the logs with the role: the stream is created once, written after every invocation
    assert sorted(call["action"] for call in report["denied"]) == ["logs:CreateLogStream", "s3:PutObject"]
    writes = [call for call in report["calls"] if call["action"] == "logs:PutLogEvents"]
    assert len(writes) == 1 and writes[0]["allowed"] and writes[0]["count"] == 2
    assert writes[0]["resource"].startswith(f"{group}:log-stream:")


def test_an_asynchronous_invocation_reaches_its_destination_only_when_the_role_allows_it(
    embedded: Endpoint, deploy_function: Callable[..., dict], role: str, wait_for: Callable[..., Any]
) -> None:
    sqs = embedded.client("sqs")
    queue = sqs.create_queue(QueueName=f"d-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue.rsplit('/', 1)[1]}"
    name = deploy_function("def lambda_handler(event, context):\n    return event\n", Role=role)["FunctionName"]
    client = embedded.client("lambda")
    client.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue_arn}}
    )

    def delivered() -> list:
        """the destination queue holds a record"""
        return sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])

    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')

    def refused() -> bool:
        """the endpoint recorded the refused delivery"""
        with urllib.request.urlopen(f"{embedded.url}/_lambdafleet/access", timeout=10) as answer:
            calls = json.load(answer)["functions"].get(name, {}).get("denied", [])
        return any(call["action"] == "sqs:SendMessage" and call["resource"] == queue_arn for call in calls)

    wait_for(refused)
    assert not delivered()
    _allow(embedded, role, "sqs:SendMessage", queue_arn, name="destination")
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 2}')
    messages = wait_for(delivered)
    assert json.loads(messages[0]["Body"])["responsePayload"] == {"n": 2}


def test_build_py_access_reports_a_function_as_json_and_text(
    embedded: Endpoint, caller: Callable[[dict], Any], role: str
) -> None:
    _allow(embedded, role, "sqs:ListQueues", "*", name="unused")
    caller({"op": "identity"})  # sts:GetCallerIdentity: always allowed, recorded
    name = caller.function_name  # type: ignore[attr-defined]
    command = [sys.executable, "build.py", "access", name, "--endpoint-url", embedded.url]
    result = subprocess.run([*command, "--json"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["functions"][name]
    assert report["unused_grants"] == [{"policy": "unused", "action": "sqs:ListQueues", "resource": "*"}]
    assert [call["action"] for call in report["calls"]] == [
        "logs:CreateLogStream",  # Lambda's, with the role
        "logs:PutLogEvents",
        "sts:GetCallerIdentity",
    ]
    text = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "grants never used:" in text.stdout and "sqs:ListQueues on *" in text.stdout
    checked = subprocess.run([*command, "--check"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1  # a grant never used
    unknown = subprocess.run(
        [*command[:3], "never-called", *command[4:]], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: never-called: the endpoint at")


def test_s3_refuses_a_notification_to_a_function_that_does_not_let_s3_invoke_it(
    embedded: Endpoint, deploy_function: Callable[..., dict]
) -> None:
    function = deploy_function("def lambda_handler(event, context):\n    return 1\n")
    bucket = f"n-{uuid.uuid4().hex[:8]}"
    s3 = embedded.client("s3")
    s3.create_bucket(Bucket=bucket)
    configuration = {
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": function["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
        ]
    }

    def refusal() -> dict:
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
        return caught.value.response

    refused = refusal()
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert {key: value for key, value in refused["Error"].items() if key not in ("RequestId", "HostId")} == {
        "Code": "InvalidArgument",
        "Message": "Unable to validate the following destination configurations",
        "ArgumentName1": f"{function['FunctionArn']}, null",
        "ArgumentValue1": f"Not authorized to invoke function [{function['FunctionArn']}]",
    }
    assert s3.get_bucket_notification_configuration(Bucket=bucket).get("LambdaFunctionConfigurations") is None
    client = embedded.client("lambda")
    permission = {"Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com"}
    client.add_permission(
        FunctionName=function["FunctionName"], StatementId="other", SourceArn="arn:aws:s3:::other", **permission
    )
    assert refusal()["Error"]["Code"] == "InvalidArgument"  # a permission for another bucket does not count
    client.add_permission(
        FunctionName=function["FunctionName"], StatementId="s3", SourceArn=f"arn:aws:s3:::{bucket}", **permission
    )
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    stored = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    assert [entry["LambdaFunctionArn"] for entry in stored] == [function["FunctionArn"]]
    other = f"n-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=other)
    s3.put_bucket_notification_configuration(  # as on AWS, the check can be skipped
        Bucket=other, NotificationConfiguration=configuration, SkipDestinationValidation=True
    )


URL_CALLER = """
import os, urllib.error, urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

def lambda_handler(event, context):
    request = AWSRequest(method="GET", url=event["url"], headers={"Host": event["host"]})
    credentials = Credentials(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"]
    )
    SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
    try:
        with urllib.request.urlopen(urllib.request.Request(event["url"], headers=dict(request.headers))) as answer:
            return {"status": answer.status, "body": answer.read().decode()}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": error.read().decode()}
"""


def test_a_function_signs_a_call_to_an_aws_iam_function_url_with_its_role(
    embedded: Endpoint, deploy_function: Callable[..., dict], role: str
) -> None:
    target = deploy_function("import json\ndef lambda_handler(event, context):\n    return event['requestContext']\n")
    url = embedded.client("lambda").create_function_url_config(FunctionName=target["FunctionName"], AuthType="AWS_IAM")
    url_id = urllib.parse.urlsplit(url["FunctionUrl"]).hostname.split(".")[0]
    port = urllib.parse.urlsplit(embedded.url).port
    host = f"{url_id}.lambda-url.{REGION}.localhost:{port}"
    caller = deploy_function(URL_CALLER, Role=role, Timeout=30)["FunctionName"]
    event = {"url": f"http://127.0.0.1:{port}/", "host": host}
    answer = embedded.client("lambda").invoke(FunctionName=caller, Payload=json.dumps(event).encode())
    assert json.loads(answer["Payload"].read()) == {"status": 403, "body": '{"Message":"Forbidden"}'}
    _allow(embedded, role, "lambda:InvokeFunctionUrl", target["FunctionArn"])  # as AWS requires of the caller
    answer = embedded.client("lambda").invoke(FunctionName=caller, Payload=json.dumps(event).encode())
    result = json.loads(answer["Payload"].read())
    with urllib.request.urlopen(f"{embedded.url}/_lambdafleet/access", timeout=10) as log:
        calls = json.load(log)["functions"][caller]["calls"]
    assert result["status"] == 200, (result, calls)
    assert json.loads(result["body"])["authorizer"]["iam"]["userArn"] == _session(role, caller)


def test_queue_and_topic_policies_deny_and_allow_as_resource_policies(
    embedded: Endpoint, caller: Callable[[dict], Any], role: str
) -> None:
    sqs, sns = embedded.client("sqs"), embedded.client("sns")
    queue = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue.rsplit('/', 1)[1]}"
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    _allow(embedded, role, "sqs:SendMessage", queue_arn)
    deny = {"Effect": "Deny", "Principal": {"AWS": role}, "Action": "sqs:SendMessage", "Resource": queue_arn}
    sqs.set_queue_attributes(
        QueueUrl=queue, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [deny]})}
    )
    refused = caller({"op": "send_message", "queue": queue})
    assert refused["code"] == "AccessDenied"
    assert refused["message"].endswith("with an explicit deny in a resource-based policy")
    # the topic policy alone (no identity grant) allows the role to publish
    allow = {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "SNS:Publish", "Resource": topic}
    assert caller({"op": "publish", "topic": topic})["code"] == "AuthorizationError"
    sns.set_topic_attributes(
        TopicArn=topic,
        AttributeName="Policy",
        AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    assert caller({"op": "publish", "topic": topic}) == {"ok": True}
