"""CORS as API Gateway HTTP APIs and Lambda function URLs apply it: the preflight answered by the service itself,
CORS headers added to every answer for an allowed origin, none at all for another origin.

Follows "Configuring CORS for an HTTP API" in the API Gateway developer guide: once CORS is configured the
service answers preflight OPTIONS requests even without an OPTIONS route, and the integration's own CORS headers
are replaced by the configured ones.
"""

import fnmatch
from dataclasses import dataclass
from typing import Any

from lambdafleet.endpoint.http_event import HttpResponse


@dataclass(frozen=True)
class CorsRules:
    """One API's (or function URL's) CORS configuration; names and methods are compared case-insensitively."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "CorsRules | None":
        """From API Gateway's corsConfiguration (camelCase) or Lambda's Cors (PascalCase); None when absent."""
        if not config:
            return None
        lowered = {key.lower(): value for key, value in config.items()}

        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(value) for value in lowered.get(key) or ())

        return cls(
            allow_origins=strings("alloworigins"),
            allow_methods=tuple(method.upper() for method in strings("allowmethods")),
            allow_headers=tuple(header.lower() for header in strings("allowheaders")),
            expose_headers=tuple(header.lower() for header in strings("exposeheaders")),
            allow_credentials=bool(lowered.get("allowcredentials")),
            max_age=int(lowered.get("maxage") or 0),
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for `origin`, or None when it is not allowed."""
        if not origin:
            return None
        for allowed in self.allow_origins:
            if allowed == "*":
                return origin if self.allow_credentials else "*"
            if allowed == origin or ("*" in allowed and fnmatch.fnmatchcase(origin, allowed)):
                return origin
        return None

    def method_allowed(self, method: str) -> bool:
        return "*" in self.allow_methods or method.upper() in self.allow_methods

    def headers_allowed(self, requested: list[str]) -> bool:
        return "*" in self.allow_headers or all(name in self.allow_headers for name in requested)


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    """An OPTIONS request a browser sends before a cross-origin one."""
    return method.upper() == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def preflight(rules: CorsRules, headers: dict[str, str]) -> HttpResponse:
    """The service's own answer to a preflight: 204, with CORS headers only when origin, method and headers are
    all allowed (without them the browser refuses the actual request)."""
    origin = rules.allowed_origin(headers.get("origin"))
    method = headers.get("access-control-request-method", "")
    requested = [name.strip().lower() for name in headers.get("access-control-request-headers", "").split(",")]
    requested = [name for name in requested if name]
    if origin is None or not rules.method_allowed(method) or not rules.headers_allowed(requested):
        return HttpResponse(204, [], b"")
    methods = method.upper() if "*" in rules.allow_methods else ",".join(rules.allow_methods)
    answer = [("access-control-allow-origin", origin), ("access-control-allow-methods", methods)]
    if requested:
        allowed = ",".join(requested) if "*" in rules.allow_headers else ",".join(rules.allow_headers)
        answer.append(("access-control-allow-headers", allowed))
    if rules.allow_credentials:
        answer.append(("access-control-allow-credentials", "true"))
    if rules.max_age:
        answer.append(("access-control-max-age", str(rules.max_age)))
    if origin != "*":
        answer.append(("vary", "origin"))
    return HttpResponse(204, answer, b"")


def decorate(rules: CorsRules, origin: str | None, response: HttpResponse) -> HttpResponse:
    """`response` with the integration's CORS headers replaced by the configured ones (none for an origin that
    is not allowed)."""
    kept = [(name, value) for name, value in response.headers if not name.lower().startswith("access-control-")]
    allowed = rules.allowed_origin(origin)
    if allowed is None:
        return HttpResponse(response.status, kept, response.body)
    added = [("access-control-allow-origin", allowed)]
    if rules.allow_credentials:
        added.append(("access-control-allow-credentials", "true"))
    if rules.expose_headers:
        added.append(("access-control-expose-headers", ",".join(rules.expose_headers)))
    if allowed != "*":
        added.append(("vary", "origin"))
    return HttpResponse(response.status, [*kept, *added], response.body)
