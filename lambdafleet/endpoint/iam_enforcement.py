"""Functions run as their execution role, and the endpoint enforces IAM on what they sign with its credentials.

Lambda gives each execution environment short-lived credentials of the function's role (an sts:AssumeRole whose
session is named after the function). `Sessions.issue` does the same on moto's STS, and remembers the access key;
the WSGI layer of `wrap` evaluates every request signed with one of those keys against the role's identity
policies (inline and attached) and the resource's policy (S3 bucket, Lambda function, SQS queue and SNS topic
policies), and answers a refusal in the service's own error shape. Requests signed with any other key (the
developer's, the tests', Terraform's) pass untouched: they keep full access.
"""

import io
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from lambdafleet.endpoint import iam_policy, iam_requests
from lambdafleet.endpoint.access_log import AccessLog
from lambdafleet.endpoint.http_event import HttpResponse
from lambdafleet.endpoint.http_server import WsgiApp
from lambdafleet.endpoint.iam_policy import Document, Principal, Verdict
from lambdafleet.endpoint.iam_requests import Call, Request
from lambdafleet.endpoint.wsgi_body import read_body, send

ACCESS_PATH = "/_lambdafleet/access"  # the access report, on loopback only
SESSION_SECONDS = 43200  # the credentials are not refreshed while the environment lives: the longest STS allows
_ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}  # AWS answers it whatever the policies say


@dataclass(frozen=True)
class Session:
    """The role credentials one function's environments were given."""

    function: str
    role_arn: str
    session_arn: str
    account_id: str
    session_token: str


class Sessions:
    """The role sessions handed to functions, by access key ID."""

    def __init__(self) -> None:
        self._by_key: dict[str, Session] = {}
        self._mutex = threading.Lock()
        self.log = AccessLog()

    def issue(self, function_name: str, role_arn: str, account_id: str, region: str) -> dict[str, str]:
        """AssumeRole on moto's STS for `role_arn`, session named after the function as Lambda names it; returns
        the three environment variables Lambda sets."""
        backend = sts_backends[account_id]["aws"]
        role = backend.assume_role(
            region_name=region,
            role_session_name=function_name[:64],
            role_arn=role_arn,
            policy="",
            duration=SESSION_SECONDS,
            external_id="",
        )
        session = Session(function_name, role_arn, role.arn, account_id, role.session_token)
        with self._mutex:
            self._by_key[role.access_key_id] = session
        return {
            "AWS_ACCESS_KEY_ID": role.access_key_id,
            "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
            "AWS_SESSION_TOKEN": role.session_token,
        }

    def service_call(
        self, function_name: str, role_arn: str, account_id: str, region: str, action: str, resource: str
    ) -> bool:
        """Whether the role lets Lambda do `action` on `resource` on the function's behalf (write its logs, deliver
        to a destination), recorded in the access log like the function's own calls."""
        session_arn = f"arn:aws:sts::{account_id}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{function_name}"
        context = {"aws:securetransport": ["true"], "aws:principalarn": [role_arn], "aws:requestedregion": [region]}
        principal = Principal(role_arn, session_arn, account_id, context)
        verdict = iam_policy.evaluate(action, resource, principal, role_policies(role_arn))
        self.log.record(function_name, role_arn, action, resource, verdict.reason, verdict.grants)
        return verdict.allowed

    def session_of(self, access_key_id: str) -> Session | None:
        """The function session `access_key_id` belongs to, or None (another caller: not enforced)."""
        return self._by_key.get(access_key_id)


def function_url_call_allowed(sessions: object, access_key: str, function: Any) -> bool:
    """Whether the signer of an AWS_IAM function URL request may call it: always for a key that is not a function's
    (the developer's), else `lambda:InvokeFunctionUrl` on the function, from the role's identity policies or the
    function's policy (AWS's rule for a caller in the function's account). Recorded."""
    session = sessions.session_of(access_key) if isinstance(sessions, Sessions) else None
    if session is None or not isinstance(sessions, Sessions):
        return True
    # a URL of the function itself is authorized on the unqualified ARN (moto's object names $LATEST)
    action, resource = "lambda:InvokeFunctionUrl", function.function_arn.removesuffix(":$LATEST")
    context = {"aws:securetransport": ["true"], "lambda:functionurlauthtype": ["AWS_IAM"]}
    principal = Principal(session.role_arn, session.session_arn, session.account_id, context)
    statements = tuple(function.policy.statements) if function.policy else ()
    policy = iam_policy.Document(f"function policy of {function.function_name}", statements) if statements else None
    verdict = iam_policy.evaluate(action, resource, principal, role_policies(session.role_arn), policy)
    sessions.log.record(session.function, session.role_arn, action, resource, verdict.reason, verdict.grants)
    return verdict.allowed


def role_policies(role_arn: str) -> list[Document]:
    """The identity policies of `role_arn` as IAM holds them now: inline, then attached (their default version)."""
    account_id = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    try:
        role = iam_backends[account_id]["aws"].get_role_by_arn(role_arn)
    except Exception:  # no such role (deleted, or never created): it grants nothing
        return []
    documents = [iam_policy.parse(name, _decoded(text)) for name, text in role.policies.items()]
    for arn, policy in role.managed_policies.items():
        version = next((v for v in policy.versions if v.is_default), None)
        if version is not None:
            documents.append(iam_policy.parse(arn, _decoded(version.document)))
    return documents


def _decoded(text: str) -> str:
    return urllib.parse.unquote(text) if text.startswith("%7B") else text


def _resource_policy(call: Call, request: Request) -> Document | None:
    """The policy of the resource `call` targets, where the service has one the endpoint reads: S3 bucket, Lambda
    function, SQS queue and SNS topic policies."""
    try:
        if call.service == "s3" and call.bucket:
            from moto.s3.models import s3_backends

            bucket = s3_backends[request.account_id]["aws"].buckets.get(call.bucket)
            policy = bucket.policy if bucket is not None else None
            return iam_policy.parse(f"bucket policy of {call.bucket}", policy.decode()) if policy else None
        if call.service == "lambda" and call.resources:
            from moto.awslambda.models import lambda_backends

            arn = call.resources[0]
            name, qualifier = arn.split(":")[6], (arn.split(":")[7] if arn.count(":") == 7 else None)
            function = lambda_backends[request.account_id][request.region].get_function(name, qualifier)
            statements = function.policy.statements if function.policy else []
            return iam_policy.Document(f"function policy of {name}", tuple(statements)) if statements else None
        if call.service == "sqs" and call.resources:
            from moto.sqs.models import sqs_backends

            name = call.resources[0].rsplit(":", 1)[-1]
            queue = sqs_backends[request.account_id][request.region].get_queue(name)
            statements = queue._policy_json.get("Statement") or []
            return iam_policy.Document(f"queue policy of {name}", tuple(statements)) if statements else None
        if call.service == "sns" and call.resources:
            from moto.sns.models import sns_backends

            topic = sns_backends[request.account_id][request.region].get_topic(call.resources[0])
            statements = topic._policy_json.get("Statement") or []
            return iam_policy.Document(f"topic policy of {topic.name}", tuple(statements)) if statements else None
    except Exception:  # the resource does not exist: the service answers that, after authorization
        return None
    return None


def _context(session: Session, request: Request) -> dict[str, list[str]]:
    """Condition keys the endpoint knows. aws:SecureTransport is true: on AWS the function's SDK uses HTTPS."""
    context = {
        "aws:securetransport": ["true"],
        "aws:principalarn": [session.role_arn],
        "aws:principalaccount": [session.account_id],
        "aws:principaltype": ["AssumedRole"],
        "aws:requestedregion": [request.region],
    }
    prefix = request.query.get("prefix")
    if prefix:
        context["s3:prefix"] = prefix
    return context


def decide(session: Session, call: Call, request: Request) -> tuple[Verdict, str | None]:
    """The verdict for `call`, and the resource it is about (the first one refused, when any is)."""
    if not call.action or call.action in _ALWAYS_ALLOWED:
        return Verdict(True, "allowed"), None
    principal = Principal(session.role_arn, session.session_arn, session.account_id, _context(session, request))
    identity = role_policies(session.role_arn)
    resource_policy = _resource_policy(call, request)
    grants: list[iam_policy.Grant] = []
    for resource in call.resources or (None,):
        verdict = iam_policy.evaluate(call.action, resource, principal, identity, resource_policy)
        if not verdict.allowed:
            return verdict, resource
        grants += verdict.grants
    return Verdict(True, "allowed", grants), call.resources[0] if call.resources else None


def message(session: Session, action: str, resource: str | None, reason: str, *, quote: bool = False) -> str:
    """AWS's sentence for a refusal."""
    target = resource or "*"
    if quote:
        target = f'"{target}"'
    why = {
        "explicit-identity": "with an explicit deny in an identity-based policy",
        "explicit-resource": "with an explicit deny in a resource-based policy",
    }.get(reason, f"because no identity-based policy allows the {action} action")
    return f"User: {session.session_arn} is not authorized to perform: {action} on resource: {target} {why}"


def refusal(session: Session, call: Call, resource: str | None, reason: str) -> HttpResponse:
    """The service's own answer to a refused call."""
    request_id = str(uuid.uuid4())
    if call.protocol == "s3":
        text = message(session, call.action, resource, reason, quote=True)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            f"<Message>{_xml(text)}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>{request_id}</HostId></Error>"
        ).encode()
        return HttpResponse(403, [("content-type", "application/xml"), ("x-amz-request-id", request_id)], body)
    if call.service == "sns":
        action = f"SNS:{call.operation}"  # SNS writes its prefix in capitals
        text = message(session, action, resource, reason)
        return _query_error(403, "AuthorizationError", text, request_id, "http://sns.amazonaws.com/doc/2010-03-31/")
    if call.service == "sqs":
        action = call.action.lower()  # SQS writes the action in lower case
        text = message(session, action, resource, reason)
        if call.protocol == "query":
            return _query_error(403, "AccessDenied", text, request_id, "http://queue.amazonaws.com/doc/2012-11-05/")
        document = {"__type": "com.amazon.coral.service#AccessDeniedException", "message": text}
        headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-query-error", "AccessDenied;Sender"),
            ("x-amzn-requestid", request_id),
        ]
        return HttpResponse(403, headers, json.dumps(document).encode())
    text = message(session, call.action, resource, reason)
    if call.protocol == "rest-json":
        headers = [
            ("content-type", "application/json"),
            ("x-amzn-errortype", "AccessDeniedException"),
            ("x-amzn-requestid", request_id),
        ]
        return HttpResponse(403, headers, json.dumps({"Type": "User", "Message": text}).encode())
    if call.protocol == "json":
        document = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": text}
        if call.service != "dynamodb":
            document = {"__type": "AccessDeniedException", "Message": text}
        headers = [("content-type", "application/x-amz-json-1.1"), ("x-amzn-requestid", request_id)]
        return HttpResponse(400, headers, json.dumps(document).encode())
    return _query_error(403, "AccessDenied", text, request_id, "")


def _query_error(status: int, code: str, text: str, request_id: str, namespace: str) -> HttpResponse:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    body = (
        f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(text)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return HttpResponse(status, [("content-type", "text/xml"), ("x-amzn-requestid", request_id)], body)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _parameters(environ: dict[str, Any], service: str, headers: dict[str, str]) -> dict[str, Any]:
    """The request's JSON or form parameters, the body put back for moto; {} for REST services."""
    if service in ("s3", "lambda") or environ.get("REQUEST_METHOD") != "POST":
        return {}
    try:
        body = read_body(environ)
    except ValueError:
        return {}  # moto answers the malformed request
    environ.pop("wsgi.input_terminated", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    try:
        if headers.get("x-amz-target"):
            parsed = json.loads(body or b"{}")
            return parsed if isinstance(parsed, dict) else {}
        return {key: values[0] for key, values in urllib.parse.parse_qs(body.decode()).items()}
    except ValueError:
        return {}


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


def wrap(app: WsgiApp, sessions: Sessions) -> WsgiApp:
    """A WSGI layer enforcing IAM on requests signed with a function's role credentials, recording each decision,
    and serving the access report at ACCESS_PATH to loopback clients."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == ACCESS_PATH and environ.get("REQUEST_METHOD") == "GET":
            return send(start_response, _access_report(environ, sessions), environ)
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        key = authorization.partition("Credential=")[2].partition("/")[0] if authorization else ""
        if not key and "X-Amz-Credential" in environ.get("QUERY_STRING", ""):
            query = urllib.parse.parse_qs(environ["QUERY_STRING"])
            key = (query.get("X-Amz-Credential") or [""])[0].partition("/")[0]
        session = sessions.session_of(key) if key else None
        if session is None:
            return app(environ, start_response)  # not a function's credentials: full access
        refused = _enforce(environ, session, sessions)
        if refused is not None:
            return send(start_response, refused, environ)
        return app(environ, start_response)

    return application


def _enforce(environ: dict[str, Any], session: Session, sessions: Sessions) -> HttpResponse | None:
    headers = _headers(environ)
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    scope = iam_requests.credential_scope(headers, query)
    if scope is None:
        return None
    _, _, region, service, _ = scope
    request = Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "/"),
        query=query,
        headers=headers,
        body=_parameters(environ, service, headers),
        region=region,
        account_id=session.account_id,
    )
    call = iam_requests.classify(request, service)
    verdict, resource = decide(session, call, request)
    if call.action:
        sessions.log.record(
            session.function, session.role_arn, call.action, resource or "*", verdict.reason, verdict.grants
        )
    if verdict.allowed:
        return None
    return refusal(session, call, resource, verdict.reason)


def _access_report(environ: dict[str, Any], sessions: Sessions) -> HttpResponse:
    if environ.get("REMOTE_ADDR") not in ("127.0.0.1", "::1"):
        return HttpResponse(403, [("content-type", "application/json")], b'{"message": "loopback only"}')
    report = sessions.log.report(role_policies)
    return HttpResponse(200, [("content-type", "application/json")], json.dumps(report, indent=1).encode())
