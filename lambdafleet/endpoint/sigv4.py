"""AWS_IAM authorization of HTTP API routes and function URLs: the request's Signature Version 4 recomputed with
the local credentials, and the caller's identity API Gateway puts in requestContext.authorizer.iam.

Local credentials are the endpoint's documented placeholder pair (`test` / `test`, account 123456789012), the
access keys of IAM users created on the endpoint, and role sessions from its STS (a function's own credentials).
An unsigned request or a wrong signature is 403, as AWS answers it.
"""

import datetime
import hmac
import re
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

DEFAULT_ACCOUNT = "123456789012"
PLACEHOLDER_KEY = ("test", "test")
MAX_SKEW = datetime.timedelta(minutes=5)
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details."
)


class SignatureRejected(Exception):
    """403 with `message`: unsigned, unknown key, expired or wrong signature."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who signed: the identity API Gateway reports."""

    access_key: str
    account_id: str
    user_id: str
    user_arn: str

    def as_authorizer(self) -> dict[str, Any]:
        """requestContext.authorizer.iam of a payload-2.0 event."""
        return {
            "accessKey": self.access_key,
            "accountId": self.account_id,
            "callerId": self.user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": self.user_arn,
            "userId": self.user_id,
        }


def _credentials(access_key: str) -> tuple[str, Caller] | None:
    if access_key == PLACEHOLDER_KEY[0]:
        root = f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
        return PLACEHOLDER_KEY[1], Caller(access_key, DEFAULT_ACCOUNT, DEFAULT_ACCOUNT, root)
    for account_id, partitions in list(iam_backends.items()):
        for backend in list(partitions.values()):
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key and key.status == "Active":
                        return key.secret_access_key, Caller(access_key, account_id, user.id, user.arn)
    for account_id, sts_partitions in list(sts_backends.items()):
        for sts in list(sts_partitions.values()):
            for role in list(sts.assumed_roles):
                if role.access_key_id == access_key:
                    return role.secret_access_key, Caller(access_key, account_id, role.user_id, role.arn)
    return None


def verify(method: str, url: str, headers: dict[str, str], body: bytes) -> Caller:
    """The caller of a request signed with SigV4 in its Authorization header; raises SignatureRejected.

    `url` is the URL the client signed (scheme, Host and the raw path and query); `headers` lower-cased.
    """
    header = headers.get("authorization", "")
    parsed = AUTHORIZATION.fullmatch(header.strip())
    if parsed is None:
        raise SignatureRejected("Forbidden")
    known = _credentials(parsed["key"])
    if known is None:
        raise SignatureRejected("The security token included in the request is invalid.")
    secret, caller = known
    stamp = headers.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise SignatureRejected("Forbidden") from None
    if abs(datetime.datetime.now(datetime.UTC) - when) > MAX_SKEW or not stamp.startswith(parsed["date"]):
        raise SignatureRejected("Signature expired: " + stamp + " is now earlier or later than 5 minutes")
    names = parsed["signed"].split(";")
    if "host" not in names or any(name not in headers for name in names):
        raise SignatureRejected(SIGNATURE_MISMATCH)
    request = AWSRequest(method=method, url=url, headers={name: headers[name] for name in names}, data=body)
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(parsed["key"], secret), parsed["service"], parsed["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, parsed["signature"]):
        raise SignatureRejected(SIGNATURE_MISMATCH)
    return caller
