"""Read and validate one function's `function.toml` into a `FunctionConfig`.

Every key has a default, unknown keys are errors, and every error names the file and the key.
"""

import re
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from lambdafleet.build import api_config, permissions
from lambdafleet.build.manifest import FunctionSettings
from lambdafleet.build.triggers import parse_triggers
from lambdafleet.errors import UserError

CONFIG_FILE = "function.toml"
RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
ARCHITECTURES = ("x86_64", "arm64")
LOGGING_FORMATS = ("Text", "JSON")
PACKAGE_TYPES = ("zip", "image")
DESTINATION_KEYS = ("on_success", "on_failure")
PAYLOAD_FORMATS = ("2.0", "1.0")  # API Gateway HTTP API payload format versions of a function's routes
HTTP_METHODS = ("ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

# Lambda sets these itself and refuses them in a function's configuration.
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZ_TRACE_ID",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
    }
)
ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]+")
DESCRIPTION_LIMIT = 256  # characters, Lambda's limit
ENV_TOTAL_LIMIT = 4096  # Lambda's limit on the combined size of all variables
ROUTE = re.compile(r"(?P<method>[A-Z]+) (?P<path>/[A-Za-z0-9._~\-/{}+]*)")
# A destination that is not a function: a queue or topic of functions/resources.toml.
DESTINATION_RESOURCE = re.compile(r"(queue|topic):[a-z0-9][a-z0-9_-]{0,62}")


@dataclass(frozen=True)
class FunctionConfig:
    """The resolved configuration of one function: defaults filled in, values validated."""

    name: str
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    handler: str = "lambda_function.lambda_handler"
    memory_size: int = 128
    timeout: int = 3
    ephemeral_storage: int = 512
    environment: dict[str, str] = field(default_factory=dict)
    description: str = ""
    logging_format: str = "Text"
    package_type: str = "zip"
    routes: tuple[str, ...] = ()
    payload_format_version: str = "2.0"
    function_url: dict[str, Any] | None = None
    destinations: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(DESTINATION_KEYS))
    permissions: tuple[dict[str, Any], ...] = ()  # build/permissions.py: grants resolved to actions
    statements: tuple[dict[str, Any], ...] = ()  # permissions.statements, the validated escape hatch
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    triggers: tuple[dict[str, Any], ...] = ()
    layers: tuple[str, ...] = ()
    reserved_concurrency: int | None = None  # None: the account's unreserved pool; 0: every invocation throttled

    def to_manifest(self) -> FunctionSettings:
        """The config as plain JSON-ready data, in the manifest's shape."""
        data = asdict(self)
        data["routes"] = list(self.routes)
        data["permissions"] = [dict(p) for p in self.permissions]
        data["statements"] = [dict(s) for s in self.statements]
        data["exclude"] = list(self.exclude)
        data["include"] = list(self.include)
        data["shared"] = list(self.shared)
        data["triggers"] = [dict(t) for t in self.triggers]
        data["layers"] = list(self.layers)
        return cast(FunctionSettings, data)


T = TypeVar("T")


class _Checker:
    """Validates values of one file, producing errors that name the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> UserError:
        return UserError(f"{self.source}: key '{key}': {problem}")

    def of_type(self, key: str, value: object, kind: type[T], label: str) -> T:
        # bool is an int subclass; `memory_size = true` must not pass as 1.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be {label}, got {value!r}")
        return value

    def choice(self, key: str, value: Any, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
        chosen: str = value
        return chosen

    def int_range(self, key: str, value: Any, low: int, high: int, unit: str = "") -> int:
        number = self.of_type(key, value, int, "an integer")
        if not low <= number <= high:
            raise self.fail(key, f"must be between {low} and {high}{unit}; got {number}")
        return number

    def text(self, key: str, value: Any, limit: int) -> str:
        string = self.of_type(key, value, str, "a string")
        if len(string) > limit:
            raise self.fail(key, f"is {len(string)} characters long; Lambda allows {limit}")
        return string

    def string_list(self, key: str, value: Any) -> list[str]:
        items = self.of_type(key, value, list, "a list of strings")
        return [self.of_type(key, item, str, "a list of strings") for item in items]


def _environment(check: _Checker, value: Any) -> dict[str, str]:
    check.of_type("environment", value, dict, "a table of strings")
    for name, text in value.items():
        key = f"environment.{name}"
        if not ENV_NAME.fullmatch(name):
            raise check.fail(key, "variable names need 2+ characters: a letter, then letters, digits or _")
        if name in RESERVED_ENV:
            raise check.fail(key, "is reserved by Lambda and cannot be set")
        check.of_type(key, text, str, "a string (quote numbers and booleans)")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
    if size > ENV_TOTAL_LIMIT:
        raise check.fail("environment", f"variables total {size} bytes; Lambda allows {ENV_TOTAL_LIMIT}")
    return dict(sorted(value.items()))


def _routes(check: _Checker, value: Any) -> tuple[str, ...]:
    for route in check.string_list("routes", value):
        match = ROUTE.fullmatch(route)
        if route != "$default" and (not match or match["method"] not in HTTP_METHODS):
            raise check.fail(
                "routes", f"{route!r} is not a route key like 'POST /predict', 'GET /items/{{id}}' or '$default'"
            )
    if len(set(value)) != len(value):
        raise check.fail("routes", "lists the same route twice")
    return tuple(value)


def _destinations(check: _Checker, value: Any) -> dict[str, str | None]:
    """A function's name, or a queue or topic of functions/resources.toml as triggers' on_failure names them
    (project.py checks that each exists)."""
    check.of_type("destinations", value, dict, "a table with on_success and/or on_failure")
    result: dict[str, str | None] = dict.fromkeys(DESTINATION_KEYS)
    for key, target in value.items():
        if key not in DESTINATION_KEYS:
            raise check.fail(f"destinations.{key}", "unknown key; expected on_success or on_failure")
        label = "a function name, 'queue:<name>' or 'topic:<name>'"
        text = check.of_type(f"destinations.{key}", target, str, label)
        if ":" in text and not DESTINATION_RESOURCE.fullmatch(text):
            raise check.fail(f"destinations.{key}", f"{text!r} must be {label}")
        result[key] = text
    return result


def _reserved_concurrency(check: _Checker, value: Any) -> int:
    number = check.of_type("reserved_concurrency", value, int, "an integer")
    if number < 0:
        raise check.fail("reserved_concurrency", f"must be at least 0 (0 throttles every invocation); got {number}")
    return number


_Validator = Callable[[_Checker, Any], Any]
_VALIDATORS: dict[str, _Validator] = {
    "runtime": lambda c, v: c.choice("runtime", v, RUNTIMES),
    "architecture": lambda c, v: c.choice("architecture", v, ARCHITECTURES),
    "handler": lambda c, v: c.of_type("handler", v, str, "a string like 'lambda_function.lambda_handler'"),
    "memory_size": lambda c, v: c.int_range("memory_size", v, 128, 10240, " MB"),
    "timeout": lambda c, v: c.int_range("timeout", v, 1, 900, " seconds"),
    "ephemeral_storage": lambda c, v: c.int_range("ephemeral_storage", v, 512, 10240, " MB"),
    "environment": _environment,
    "description": lambda c, v: c.text("description", v, DESCRIPTION_LIMIT),
    "logging_format": lambda c, v: c.choice("logging_format", v, LOGGING_FORMATS),
    "package_type": lambda c, v: c.choice("package_type", v, PACKAGE_TYPES),
    "routes": _routes,
    "payload_format_version": lambda c, v: c.choice("payload_format_version", v, PAYLOAD_FORMATS),
    "function_url": lambda c, v: api_config.function_url(c.source, v),
    "destinations": _destinations,
    "permissions": lambda c, v: permissions.parse(c.source, v),
    "exclude": lambda c, v: tuple(c.string_list("exclude", v)),
    "include": lambda c, v: tuple(c.string_list("include", v)),
    "shared": lambda c, v: tuple(c.string_list("shared", v)),
    "triggers": parse_triggers,
    "layers": lambda c, v: tuple(c.string_list("layers", v)),
    "reserved_concurrency": _reserved_concurrency,
}


def read_toml(path: Path, source: str) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into a one-line UserError naming `source`."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{source}: not UTF-8 text") from None
    except RecursionError:
        raise UserError(f"{source}: invalid TOML: nested too deeply") from None


def load_config(function_dir: Path, source_prefix: str = "") -> FunctionConfig:
    """Read `function_dir/function.toml` (optional) and return the validated configuration.

    `source_prefix` is how the folder is named in error messages (e.g. `functions/math/`).
    """
    path = function_dir / CONFIG_FILE
    source = f"{source_prefix}{CONFIG_FILE}"
    if path.exists() and not path.is_file():
        raise UserError(f"{source}: not a file (remove it or make it a file)")
    raw = read_toml(path, source) if path.is_file() else {}
    check = _Checker(source)
    values = {}
    for key, value in raw.items():
        if key not in _VALIDATORS:
            raise check.fail(key, f"unknown key; known keys: {', '.join(sorted(_VALIDATORS))}")
        values[key] = _VALIDATORS[key](check, value)
    if "permissions" in values:  # one key of function.toml, two fields: the short form and the escape hatch
        parsed: permissions.Permissions = values["permissions"]
        values["permissions"], values["statements"] = parsed.grants, parsed.statements
    return FunctionConfig(name=function_dir.name, **values)
