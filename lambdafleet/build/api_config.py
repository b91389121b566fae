"""Read and validate `functions/api.toml`: what the HTTP API declares once for every route — CORS, throttling,
authorizers — and which authorization each route needs.

Every key is optional and checked; every error names the file and the key. The result goes into the manifest
as `api`, which Terraform deploys and the local endpoint honours.
"""

import re
from pathlib import Path
from typing import Any

from lambdafleet.errors import UserError

API_FILE = "api.toml"
# The local issuer: `build.py token` signs with a key only this machine holds, and `.invalid` can never resolve,
# so API Gateway can never fetch its JWKS and never accepts such a token.
LOCAL_ISSUER = "https://local-issuer.lambdafleet.invalid"
AWS_IAM = "AWS_IAM"
CORS_METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
AUTHORIZER_TYPES = ("jwt", "lambda")
AUTHORIZER_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
IDENTITY_SOURCE = re.compile(
    r"\$(request\.(header|querystring)\.[A-Za-z0-9._~-]+|context\.[A-Za-z.]+|stageVariables\.\w+)"
)
ORIGIN = re.compile(r"\*|https?://[A-Za-z0-9.*-]+(:\d{1,5})?")
EMPTY: dict[str, Any] = {"cors": None, "throttling": None, "authorizers": {}, "routes": {}}


class _Source:
    """Builds the errors of one file, each naming the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> UserError:
        return UserError(f"{self.source}: key '{key}': {problem}")

    def table(self, key: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", f"unknown key; expected {', '.join(allowed)}")
        return value

    def strings(self, key: str, value: Any, pattern: re.Pattern[str] | None = None) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.fail(key, "must be a list of non-empty strings")
        for item in value:
            if pattern is not None and not pattern.fullmatch(item):
                raise self.fail(key, f"{item!r} is not valid")
        return list(value)

    def integer(self, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"must be an integer from {low} to {high}; got {value!r}")
        return value

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false; got {value!r}")
        return value


def _cors(src: _Source, value: Any, key: str = "cors") -> dict[str, Any]:
    keys = ("allow_origins", "allow_methods", "allow_headers", "expose_headers", "allow_credentials", "max_age")
    raw = src.table(key, value, keys)
    cors: dict[str, Any] = {
        "allow_origins": src.strings(f"{key}.allow_origins", raw.get("allow_origins", []), ORIGIN),
        "allow_methods": [m.upper() for m in src.strings(f"{key}.allow_methods", raw.get("allow_methods", []))],
        "allow_headers": [h.lower() for h in src.strings(f"{key}.allow_headers", raw.get("allow_headers", []))],
        "expose_headers": [h.lower() for h in src.strings(f"{key}.expose_headers", raw.get("expose_headers", []))],
        "allow_credentials": src.boolean(f"{key}.allow_credentials", raw.get("allow_credentials", False)),
        "max_age": src.integer(f"{key}.max_age", raw.get("max_age", 0), 0, 86400),
    }
    bad = [m for m in cors["allow_methods"] if m not in CORS_METHODS]
    if bad:
        raise src.fail(f"{key}.allow_methods", f"{bad[0]!r} is not one of {', '.join(CORS_METHODS)}")
    if cors["allow_credentials"] and "*" in cors["allow_origins"]:
        raise src.fail(f"{key}.allow_credentials", "cannot be true while allow_origins holds '*' (AWS refuses it)")
    return cors


def function_url(source: str, value: Any) -> dict[str, Any]:
    """function.toml's `function_url` table: auth_type (AWS_IAM by default: a public URL must be asked for)
    and the URL's own CORS."""
    src = _Source(source)
    raw = src.table("function_url", value, ("auth_type", "cors"))
    auth_type = raw.get("auth_type", AWS_IAM)
    if auth_type not in ("NONE", AWS_IAM):
        raise src.fail("function_url.auth_type", f"must be NONE or AWS_IAM; got {auth_type!r}")
    cors = _cors(src, raw["cors"], "function_url.cors") if "cors" in raw else None
    return {"auth_type": auth_type, "cors": cors}


def _throttling(src: _Source, key: str, value: Any) -> dict[str, Any]:
    raw = src.table(key, value, ("rate_limit", "burst_limit"))
    rate = raw.get("rate_limit", 10000)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 10000:
        raise src.fail(f"{key}.rate_limit", f"must be a number of requests per second from 0 to 10000; got {rate!r}")
    return {
        "rate_limit": float(rate),
        "burst_limit": src.integer(f"{key}.burst_limit", raw.get("burst_limit", 5000), 0, 5000),
    }


def _authorizer(src: _Source, name: str, value: Any, functions: set[str]) -> dict[str, Any]:
    key = f"authorizers.{name}"
    if not AUTHORIZER_NAME.fullmatch(name):
        raise src.fail(key, "names are 1-128 letters, digits, '-' or '_'")
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in AUTHORIZER_TYPES:
        raise src.fail(f"{key}.type", f"must be one of {', '.join(AUTHORIZER_TYPES)}; got {kind!r}")
    if kind == "jwt":
        raw = src.table(key, value, ("type", "issuer", "audience", "identity_source"))
        issuer = raw.get("issuer", "local")
        if not isinstance(issuer, str) or not (issuer == "local" or issuer.startswith("https://")):
            raise src.fail(f"{key}.issuer", "must be 'local' (the local issuer) or an https:// issuer URL")
        source = raw.get("identity_source", "$request.header.Authorization")
        src.strings(f"{key}.identity_source", [source], IDENTITY_SOURCE)
        return {
            "type": "jwt",
            "issuer": LOCAL_ISSUER if issuer == "local" else issuer,
            "audience": src.strings(f"{key}.audience", raw.get("audience", [])) or _missing(src, f"{key}.audience"),
            "identity_sources": [source],
        }
    raw = src.table(key, value, ("type", "function", "simple_responses", "result_ttl", "identity_sources"))
    function = raw.get("function")
    if function not in functions:
        raise src.fail(f"{key}.function", f"no function named {function!r} under functions/")
    sources = src.strings(
        f"{key}.identity_sources", raw.get("identity_sources", ["$request.header.Authorization"]), IDENTITY_SOURCE
    )
    ttl = src.integer(f"{key}.result_ttl", raw.get("result_ttl", 0), 0, 3600)
    if ttl and not sources:
        raise src.fail(f"{key}.identity_sources", "caching (result_ttl > 0) needs at least one identity source")
    return {
        "type": "lambda",
        "function": function,
        "simple_responses": src.boolean(f"{key}.simple_responses", raw.get("simple_responses", True)),
        "result_ttl": ttl,
        "identity_sources": sources,
    }


def _missing(src: _Source, key: str) -> list[str]:
    raise src.fail(key, "must list at least one audience (the token's aud or client_id)")


def _route(src: _Source, route: str, value: Any, authorizers: dict[str, Any], routes: set[str]) -> dict[str, Any]:
    key = f'routes."{route}"'
    if route not in routes:
        raise src.fail(key, "no function declares this route in its function.toml 'routes'")
    raw = src.table(key, value, ("authorization", "scopes", "throttling"))
    authorization = raw.get("authorization", "NONE")
    if authorization not in ("NONE", AWS_IAM, *authorizers):
        known = ", ".join(["NONE", AWS_IAM, *authorizers])
        raise src.fail(f"{key}.authorization", f"{authorization!r} is not one of {known}")
    scopes = src.strings(f"{key}.scopes", raw.get("scopes", []))
    if scopes and authorizers.get(authorization, {}).get("type") != "jwt":
        raise src.fail(f"{key}.scopes", "scopes need a jwt authorizer as the route's authorization")
    throttling = _throttling(src, f"{key}.throttling", raw["throttling"]) if "throttling" in raw else None
    return {"authorization": authorization, "scopes": scopes, "throttling": throttling}


def load_api(functions_dir: Path, functions: dict[str, tuple[str, ...]], read_toml: Any) -> dict[str, Any]:
    """`functions_dir/api.toml` validated into the manifest's `api` (EMPTY when there is no such file).

    `functions` maps each function to its route keys; `read_toml(path, source)` parses with one-line errors.
    """
    path = functions_dir / API_FILE
    if not path.is_file():
        return dict(EMPTY)
    src = _Source(f"{functions_dir.name}/{API_FILE}")
    raw = src.table("(file)", read_toml(path, src.source), ("cors", "throttling", "authorizers", "routes"))
    authorizers_raw = raw.get("authorizers", {})
    if not isinstance(authorizers_raw, dict):
        raise src.fail("authorizers", "must be tables like [authorizers.<name>]")
    authorizers = {name: _authorizer(src, name, body, set(functions)) for name, body in authorizers_raw.items()}
    routes_raw = raw.get("routes", {})
    if not isinstance(routes_raw, dict):
        raise src.fail("routes", 'must be tables like [routes."PUT /items/{id}"]')
    declared = {route for keys in functions.values() for route in keys}
    return {
        "cors": _cors(src, raw["cors"]) if "cors" in raw else None,
        "throttling": _throttling(src, "throttling", raw["throttling"]) if "throttling" in raw else None,
        "authorizers": authorizers,
        "routes": {route: _route(src, route, body, authorizers, declared) for route, body in routes_raw.items()},
    }
