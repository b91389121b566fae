"""S3 refuses a notification configuration whose function does not let S3 invoke it, as AWS does.

PutBucketNotificationConfiguration validates each Lambda destination: unless the function's resource policy
(`AddPermission`, Terraform's `aws_lambda_permission`) allows the `s3.amazonaws.com` service principal
`lambda:InvokeFunction` for this bucket, S3 answers 400 `InvalidArgument` "Unable to validate the following
destination configurations", naming each function, and stores nothing. `x-amz-skip-destination-validation: true`
skips the check, as on AWS.
"""

import io
import urllib.parse
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from typing import Any

from lambdafleet.endpoint import iam_policy
from lambdafleet.endpoint.http_event import HttpResponse
from lambdafleet.endpoint.http_server import WsgiApp
from lambdafleet.endpoint.wsgi_body import read_body, send

MESSAGE = "Unable to validate the following destination configurations"
ACCOUNT_ID = "123456789012"  # moto's default account: the bucket's owner here


def _bucket(environ: dict[str, Any]) -> str | None:
    host = environ.get("HTTP_HOST", "").split(":")[0]
    path = urllib.parse.unquote(environ.get("PATH_INFO", ""))
    if ".s3." in host or host.endswith(".localhost"):
        return host.split(".")[0] if path.strip("/") == "" else None
    parts = path.strip("/").split("/")
    return parts[0] if len(parts) == 1 and parts[0] else None


def _is_put_notification(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") != "PUT":
        return False
    query = environ.get("QUERY_STRING", "")
    return "notification" in urllib.parse.parse_qs(query, keep_blank_values=True) and "/s3/" in environ.get(
        "HTTP_AUTHORIZATION", ""
    )


def function_arns(body: bytes) -> list[str]:
    """The Lambda destinations of a NotificationConfiguration document."""
    root = ElementTree.fromstring(body)
    arns = []
    for element in root.iter():
        if element.tag.rpartition("}")[2] == "CloudFunction" and element.text:
            arns.append(element.text.strip())
    return arns


def s3_may_invoke(function_arn: str, bucket: str) -> bool:
    """Whether the function's policy allows S3, for `bucket`, to invoke it."""
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        return False
    region, account = parts[3], parts[4]
    try:
        function = lambda_backends[account][region].get_function(function_arn)
    except Exception:  # no such function: S3 cannot invoke it either
        return False
    statements = tuple(function.policy.statements) if function.policy else ()
    context = {"aws:sourcearn": [f"arn:aws:s3:::{bucket}"], "aws:sourceaccount": [ACCOUNT_ID]}
    principal = iam_policy.Principal("", "", account, context, service="s3.amazonaws.com")
    policy = iam_policy.Document(f"function policy of {parts[6]}", statements)
    return iam_policy.evaluate("lambda:InvokeFunction", function_arn, principal, [], policy).allowed


def _refusal(unauthorized: list[str]) -> HttpResponse:
    request_id = uuid.uuid4().hex[:16].upper()
    arguments = "".join(
        f"<ArgumentName{index}>{_xml(arn)}, null</ArgumentName{index}>"
        f"<ArgumentValue{index}>Not authorized to invoke function [{_xml(arn)}]</ArgumentValue{index}>"
        for index, arn in enumerate(unauthorized, start=1)
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
        f"<Message>{MESSAGE}</Message>{arguments}<RequestId>{request_id}</RequestId>"
        f"<HostId>{request_id}</HostId></Error>"
    ).encode()
    return HttpResponse(400, [("content-type", "application/xml"), ("x-amz-request-id", request_id)], body)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wrap(app: WsgiApp) -> WsgiApp:
    """A WSGI layer refusing notification configurations S3 could not deliver for lack of the Lambda permission."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not _is_put_notification(environ):
            return app(environ, start_response)
        bucket = _bucket(environ)
        skip = environ.get("HTTP_X_AMZ_SKIP_DESTINATION_VALIDATION", "").lower() == "true"
        if bucket is None or skip:
            return app(environ, start_response)
        try:
            body = read_body(environ)
        except ValueError:
            return app(environ, start_response)  # moto answers the malformed request
        environ.pop("wsgi.input_terminated", None)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            arns = function_arns(body)
        except ElementTree.ParseError:
            return app(environ, start_response)  # moto answers the malformed document
        unauthorized = [arn for arn in arns if not s3_may_invoke(arn, bucket)]
        if unauthorized:
            return send(start_response, _refusal(unauthorized), environ)
        return app(environ, start_response)

    return application
