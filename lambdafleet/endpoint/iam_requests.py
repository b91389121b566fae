"""What an AWS request asks for, in IAM's terms: the action (`dynamodb:PutItem`) and the resource ARNs it touches.

The service comes from the SigV4 credential scope; the operation from X-Amz-Target (JSON protocol), the `Action`
parameter (query protocol), or the method and path (S3, Lambda's REST API). Resources are resolved for DynamoDB,
S3, Lambda, SQS, SNS, Secrets Manager and SSM; for other services the resource is None and policies are matched
on the action alone.
"""

import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request as IAM sees it; `resources` empty means not resolved (match on the action)."""

    service: str  # the credential scope's service: dynamodb, s3, lambda, sqs, ...
    operation: str  # the API operation: PutItem, GetObject, Invoke
    action: str  # the IAM action: dynamodb:PutItem, s3:GetObject, lambda:InvokeFunction
    resources: tuple[str, ...]
    protocol: str  # json | query | rest-json | s3
    bucket: str | None = None  # S3: for the bucket policy


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request the mapping reads."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: Mapping[str, Any]  # the JSON or form parameters; {} for REST bodies
    region: str
    account_id: str


_LAMBDA_PATHS: tuple[tuple[str, re.Pattern[str], str, str], ...] = (
    ("POST", re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$"), "Invoke", "InvokeFunction"),
    ("POST", re.compile(r"^/2014-11-13/functions/([^/]+)/invoke-async/?$"), "InvokeAsync", "InvokeFunction"),
    ("GET", re.compile(r"^/2015-03-31/functions/([^/]+)/configuration/?$"), "GetFunctionConfiguration", ""),
    ("GET", re.compile(r"^/2015-03-31/functions/([^/]+)/?$"), "GetFunction", ""),
    ("GET", re.compile(r"^/2015-03-31/functions/?$"), "ListFunctions", ""),
)


def credential_scope(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> list[str] | None:
    """[access key, date, region, service, "aws4_request"] of a SigV4-signed request (header or presigned URL)."""
    authorization = headers.get("authorization", "")
    if "Credential=" in authorization:
        scope = authorization.partition("Credential=")[2].partition(",")[0].strip()
    else:
        scope = (query.get("X-Amz-Credential") or [""])[0]
    parts = scope.split("/")
    return parts if len(parts) == 5 else None


def classify(request: Request, service: str) -> Call:
    """The IAM action and resources of `request`, signed for `service`."""
    if service == "s3":
        return _s3(request)
    if service == "lambda":
        return _lambda(request)
    target = request.headers.get("x-amz-target", "")
    if target:
        operation, protocol = target.rpartition(".")[2], "json"
    else:
        operation = str(request.body.get("Action") or (request.query.get("Action") or [""])[0])
        protocol = "query"
    resolve = _RESOURCES.get(service)
    resources = resolve(request, operation) if resolve else ()
    return Call(service, operation, f"{service}:{operation}", tuple(resources), protocol)


def _arn(service: str, request: Request, rest: str) -> str:
    return f"arn:aws:{service}:{request.region}:{request.account_id}:{rest}"


def _dynamodb(request: Request, operation: str) -> list[str]:
    body = request.body
    tables: list[str] = []
    if isinstance(body.get("RequestItems"), dict):
        tables += list(body["RequestItems"])
    for item in body.get("TransactItems") or []:
        for part in item.values() if isinstance(item, dict) else ():
            if isinstance(part, dict) and part.get("TableName"):
                tables.append(part["TableName"])
    if body.get("TableName"):
        tables.append(str(body["TableName"]))
    arns = [name if name.startswith("arn:") else _arn("dynamodb", request, f"table/{name}") for name in tables]
    if body.get("IndexName") and len(arns) == 1:
        arns = [f"{arns[0]}/index/{body['IndexName']}"]
    if body.get("StreamArn"):
        arns.append(str(body["StreamArn"]))
    return arns


def _sqs(request: Request, operation: str) -> list[str]:
    url = request.body.get("QueueUrl") or (request.query.get("QueueUrl") or [""])[0]
    if url:
        parts = urllib.parse.urlparse(str(url)).path.strip("/").split("/")
        if len(parts) >= 2:
            return [f"arn:aws:sqs:{request.region}:{parts[-2]}:{parts[-1]}"]
    name = request.body.get("QueueName")
    return [_arn("sqs", request, str(name))] if name else []


def _sns(request: Request, operation: str) -> list[str]:
    for key in ("TopicArn", "TargetArn", "SubscriptionArn"):
        value = request.body.get(key) or (request.query.get(key) or [""])[0]
        if value:
            return [str(value).rsplit(":", 1)[0] if key == "SubscriptionArn" else str(value)]
    return []


def _secretsmanager(request: Request, operation: str) -> list[str]:
    secret_id = request.body.get("SecretId")
    if not secret_id:
        return []
    secret_id = str(secret_id)
    if secret_id.startswith("arn:"):
        return [secret_id]
    from moto.secretsmanager.models import secretsmanager_backends

    secrets = secretsmanager_backends[request.account_id][request.region].secrets
    if secret_id in secrets:
        return [secrets[secret_id].arn]
    return [_arn("secretsmanager", request, f"secret:{secret_id}")]  # AWS names it without the suffix too


def _ssm(request: Request, operation: str) -> list[str]:
    names = [request.body.get("Name"), request.body.get("Path"), *(request.body.get("Names") or [])]
    return [_arn("ssm", request, f"parameter/{str(name).lstrip('/')}") for name in names if name]


_RESOURCES: dict[str, Callable[[Request, str], list[str]]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "sns": _sns,
    "secretsmanager": _secretsmanager,
    "ssm": _ssm,
}


def _lambda(request: Request) -> Call:
    path = urllib.parse.unquote(request.path)
    for method, pattern, operation, action in _LAMBDA_PATHS:
        matched = pattern.match(path)
        if request.method == method and matched:
            resources: tuple[str, ...] = ()
            if matched.groups():
                resources = (_function_arn(request, matched.group(1)),)
            return Call("lambda", operation, f"lambda:{action or operation}", resources, "rest-json")
    return Call("lambda", "", "", (), "rest-json")  # not mapped: the endpoint does not evaluate it


def _function_arn(request: Request, name: str) -> str:
    """The ARN Lambda authorizes: qualified when the request names a version or alias."""
    qualifier = (request.query.get("Qualifier") or [""])[0]
    if name.startswith("arn:"):
        arn = name
    else:
        base, _, alias = name.partition(":")
        arn = _arn("lambda", request, f"function:{base}")
        qualifier = qualifier or alias
    return f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn


_S3_BUCKET_GETS = {
    "policy": "GetBucketPolicy",
    "tagging": "GetBucketTagging",
    "versioning": "GetBucketVersioning",
    "location": "GetBucketLocation",
    "notification": "GetBucketNotification",
    "cors": "GetBucketCORS",
    "acl": "GetBucketAcl",
    "encryption": "GetEncryptionConfiguration",
    "lifecycle": "GetLifecycleConfiguration",
    "uploads": "ListBucketMultipartUploads",
    "versions": "ListBucketVersions",
}


def _s3_location(request: Request) -> tuple[str | None, str]:
    """(bucket, key) from a virtual-hosted or path-style request."""
    host = request.headers.get("host", "").split(":")[0]
    path = urllib.parse.unquote(request.path)
    if ".s3." in host or host.endswith(".localhost"):
        return host.split(".")[0], path.lstrip("/")
    bucket, _, key = path.lstrip("/").partition("/")
    return (bucket or None), key


def _s3(request: Request) -> Call:
    bucket, key = _s3_location(request)
    method, query = request.method, request.query
    if bucket is None:
        return Call("s3", "ListBuckets", "s3:ListAllMyBuckets", ("*",), "s3")
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if key:
        operation, action = _s3_object_operation(method, query)
        return Call("s3", operation, f"s3:{action}", (f"{bucket_arn}/{key}",), "s3", bucket)
    if method in ("GET", "HEAD"):
        sub = next((name for name in _S3_BUCKET_GETS if name in query), None)
        if sub:
            return Call("s3", _S3_BUCKET_GETS[sub], f"s3:{_S3_BUCKET_GETS[sub]}", (bucket_arn,), "s3", bucket)
        operation = "HeadBucket" if method == "HEAD" else "ListObjectsV2" if "list-type" in query else "ListObjects"
        return Call("s3", operation, "s3:ListBucket", (bucket_arn,), "s3", bucket)
    if method == "POST" and "delete" in query:
        return Call("s3", "DeleteObjects", "s3:DeleteObject", (f"{bucket_arn}/*",), "s3", bucket)
    verb = {"PUT": "Put", "DELETE": "Delete"}.get(method, "Post")
    sub = next((name for name in _S3_BUCKET_GETS if name in query), "")
    operation = f"{verb}Bucket{sub.capitalize()}" if sub else ("CreateBucket" if verb == "Put" else f"{verb}Bucket")
    return Call("s3", operation, f"s3:{operation}", (bucket_arn,), "s3", bucket)


def _s3_object_operation(method: str, query: Mapping[str, list[str]]) -> tuple[str, str]:
    """(operation, IAM action) of an object-level S3 request."""
    if "tagging" in query:
        verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, "Get")
        return f"{verb}ObjectTagging", f"{verb}ObjectTagging"
    if "acl" in query:
        verb = "Put" if method == "PUT" else "Get"
        return f"{verb}ObjectAcl", f"{verb}ObjectAcl"
    if method in ("GET", "HEAD"):
        if "uploadId" in query:
            return "ListParts", "ListMultipartUploadParts"
        return ("HeadObject" if method == "HEAD" else "GetObject"), "GetObject"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload", "AbortMultipartUpload"
        return "DeleteObject", "DeleteObject"
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload", "PutObject"
    if method == "POST" and "uploadId" in query:
        return "CompleteMultipartUpload", "PutObject"
    if "partNumber" in query:
        return "UploadPart", "PutObject"
    return "PutObject", "PutObject"
