"""API Gateway HTTP API JWT authorizers: the token from the identity source, checked against the issuer's JWKS,
its issuer, audience (aud, else client_id), time claims and the route's scopes.

Follows "Controlling access to HTTP APIs with JWT authorizers" in the API Gateway developer guide: no token or
an invalid one → 401 {"message":"Unauthorized"}; a valid token without one of the route's scopes → 403
{"message":"Forbidden"}. Tokens of the local issuer are checked against its key in the cache; another issuer's
JWKS is fetched from its OpenID discovery document and kept for an hour.
"""

import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from lambdafleet.build.api_config import LOCAL_ISSUER
from lambdafleet.endpoint import local_issuer

LOG = logging.getLogger("lambdafleet.endpoint")
ALGORITHMS = ["RS256", "RS384", "RS512"]  # API Gateway accepts RSA-signed tokens only
JWKS_TTL_S = 3600.0
MAX_DOCUMENT_BYTES = 1 << 20
FETCH_TIMEOUT_S = 5.0
LEEWAY_S = 0


class Unauthorized(Exception):
    """401: no token, or one that does not verify."""


class Forbidden(Exception):
    """403: a valid token without any of the route's scopes."""


@dataclass(frozen=True)
class JwtConfig:
    """An authorizer's jwtConfiguration and identity source."""

    issuer: str
    audiences: tuple[str, ...]
    identity_source: str


def bearer_token(value: str | None) -> str:
    """The token of an Authorization-style value, with or without its `Bearer ` prefix."""
    if not value or not value.strip():
        raise Unauthorized("no token in the identity source")
    text = value.strip()
    return text[7:].strip() if text[:7].lower() == "bearer " else text


def _stringified(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway passes them on: every value a string, arrays as `[a b]`."""
    out = {}
    for name, value in claims.items():
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, list):
            out[name] = "[" + " ".join(str(item) for item in value) + "]"
        elif isinstance(value, bool):
            out[name] = str(value).lower()
        else:
            out[name] = json.dumps(value) if isinstance(value, dict) else str(value)
    return out


def token_scopes(claims: dict[str, Any]) -> list[str]:
    """The token's scopes: `scope` (space-separated) or `scp` (a list or a string)."""
    raw = claims.get("scope", claims.get("scp"))
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return str(raw).split() if raw else []


class JwtValidator:
    """Validates tokens for any issuer, caching each issuer's key set."""

    def __init__(self, cache_dir: Path) -> None:
        """`cache_dir` holds the local issuer's key."""
        self._cache_dir = cache_dir
        self._key_sets: dict[str, tuple[KeySet, float]] = {}
        self._mutex = threading.Lock()

    def authorize(self, config: JwtConfig, token_value: str | None, route_scopes: list[str]) -> dict[str, Any]:
        """requestContext.authorizer for a valid token; raises Unauthorized or Forbidden."""
        claims = self._claims(config, bearer_token(token_value))
        scopes = token_scopes(claims)
        if route_scopes and not set(route_scopes) & set(scopes):
            raise Forbidden(f"token scopes {scopes} hold none of {route_scopes}")
        return {"jwt": {"claims": _stringified(claims), "scopes": scopes or None}}

    def _claims(self, config: JwtConfig, token: str) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, self._key_set(config.issuer), algorithms=ALGORITHMS)
        except (JoseError, ValueError, KeyError) as error:
            raise Unauthorized(f"token does not verify: {error}") from None
        claims = decoded.claims
        try:
            jwt.JWTClaimsRegistry(leeway=LEEWAY_S, iss={"essential": True, "value": config.issuer}).validate(claims)
        except JoseError as error:
            raise Unauthorized(f"token claims: {error}") from None
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(map(str, audiences)) & set(config.audiences):
            raise Unauthorized(f"audience {audience!r} is not one of {list(config.audiences)}")
        return claims

    def _key_set(self, issuer: str) -> KeySet:
        with self._mutex:
            cached = self._key_sets.get(issuer)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
        key_set = local_issuer.key_set(self._cache_dir) if issuer == LOCAL_ISSUER else _fetch_key_set(issuer)
        with self._mutex:
            self._key_sets[issuer] = (key_set, time.monotonic() + JWKS_TTL_S)
        return key_set


def _fetch_json(url: str) -> Any:
    if not url.startswith("https://"):
        raise Unauthorized(f"{url}: API Gateway fetches keys over https only")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
            return json.loads(response.read(MAX_DOCUMENT_BYTES))
    except (OSError, ValueError) as error:
        raise Unauthorized(f"{url}: {error}") from None


def _fetch_key_set(issuer: str) -> KeySet:
    """The issuer's JWKS, found through its OpenID Connect discovery document as API Gateway finds it."""
    discovery = _fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    jwks_uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
    if not isinstance(jwks_uri, str):
        raise Unauthorized(f"{issuer}: discovery document has no jwks_uri")
    try:
        return KeySet.import_key_set(_fetch_json(jwks_uri))
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise Unauthorized(f"{jwks_uri}: {error}") from None
