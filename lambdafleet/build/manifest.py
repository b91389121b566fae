"""`build/manifest.json`: what was built, in the shape Terraform reads with jsondecode(file(...)).

The contract is `manifest.schema.json` beside this file (JSON Schema, what infra/ and the README refer to); the
TypedDicts below are the same shape for the Python side (tests/test_manifest_schema.py keeps the two in step).
A manifest is checked against the schema when it is read, unless it is byte for byte the one this tool last wrote
(its size and mtime stamped under .stamps/): jsonschema costs more to import than a whole no-op build takes.

Several `build.py` runs may update it at once (one per function, say), so every update re-reads it
under an exclusive file lock and merges its own entries into what is there, never into a stale copy.
"""

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

from lambdafleet.build import atomic, stamps
from lambdafleet.errors import UserError

SCHEMA_VERSION: Literal[1] = 1
MANIFEST_FILE = "manifest.json"
SCHEMA_FILE = Path(__file__).with_name("manifest.schema.json")
LOCK_FILE = ".manifest.lock"


class Destinations(TypedDict):
    """A function's name, or 'queue:<name>' / 'topic:<name>' of functions/resources.toml."""

    on_success: str | None
    on_failure: str | None


class PermissionRule(TypedDict):
    """Actions on the resource's ARN plus `suffix` ("", "/*", "/index/<name>", "/<key>")."""

    actions: list[str]
    suffix: str


class Permission(TypedDict):
    """One grant of function.toml's short form (build/permissions.py), resolved to actions."""

    type: str  # table, bucket, queue, topic, stream, bus, function, secret, parameter, key
    name: str
    access: str  # the levels as written: "read", "get,put"
    target: NotRequired[str]  # below the resource: "index/<name>" or an object key/prefix
    allow: NotRequired[list[PermissionRule]]  # absent before the grammar grew: Terraform maps table/bucket levels


class Statement(TypedDict):
    """One [[permissions.statements]] entry: exact actions on ARNs (placeholders {partition} {region} {account}
    {prefix}), with IAM conditions (operator -> key -> values)."""

    actions: list[str]
    resources: list[str]
    conditions: dict[str, dict[str, list[str]]]


class Cors(TypedDict):
    allow_origins: list[str]
    allow_methods: list[str]
    allow_headers: list[str]
    expose_headers: list[str]
    allow_credentials: bool
    max_age: int


class FunctionUrl(TypedDict):
    auth_type: str  # "NONE" or "AWS_IAM"
    cors: Cors | None


class FunctionSettings(TypedDict):
    """function.toml's resolved configuration (FunctionConfig.to_manifest)."""

    name: str
    runtime: str
    architecture: str
    handler: str
    memory_size: int
    timeout: int
    ephemeral_storage: int
    environment: dict[str, str]
    description: str
    logging_format: str
    package_type: str
    routes: list[str]
    destinations: Destinations
    permissions: list[Permission]
    statements: NotRequired[list[Statement]]  # permissions.statements; absent before the escape hatch
    exclude: list[str]
    triggers: NotRequired[list[dict[str, Any]]]  # event sources (build/triggers.py); absent before them
    include: NotRequired[list[str]]  # files shipped despite the default secret excludes; absent before
    shared: list[str]
    layers: NotRequired[list[str]]  # absent from entries written before layers existed
    payload_format_version: NotRequired[str]  # "2.0" or "1.0" (HTTP API); absent before it was configurable
    function_url: NotRequired[FunctionUrl | None]  # absent before function URLs
    reserved_concurrency: NotRequired[int | None]  # None: unreserved; absent before the key existed


class S3Location(TypedDict):
    """Where `build.py --upload` put a zip."""

    bucket: str
    key: str
    version_id: str | None


class ImageContext(TypedDict):
    """The container-image build context of an image function."""

    context: str
    base_image: str
    platform: str
    command: list[str]
    sha256: str
    tag: str
    task_zip: NotRequired[str]  # the image's task root as a zip, run locally without Docker; absent before that
    task_sha256: NotRequired[str]  # that zip's SHA-256 (hex): its unpacked copy is cached under it


class FunctionEntry(FunctionSettings):
    """One function of the manifest: its settings plus what the build produced (zip or image context)."""

    zip: str | None
    size: int | None
    unzipped_size: int | None
    sha256: str | None
    source_code_hash: str | None
    build_key: str
    sbom: NotRequired[str | None]  # the CycloneDX file beside the zip (null for an image); absent before SBOMs
    s3: S3Location | None
    image: ImageContext | None


class ChainEntry(TypedDict):
    """A Step Functions state machine running `steps` one after another."""

    name: str
    steps: list[str]
    description: str


class LayerBuild(TypedDict):
    """One layer zip, for one runtime and architecture (`build/layers/<name>-<runtime>-<arch>.zip`)."""

    zip: str
    size: int
    unzipped_size: int
    sha256: str
    source_code_hash: str
    build_key: str
    sbom: str
    s3: S3Location | None


class LayerSettings(TypedDict):
    """A layer's resolved `layers/<name>/layer.toml` (LayerConfig.to_manifest)."""

    name: str
    runtimes: list[str]
    architectures: list[str]
    description: str


class LayerEntry(LayerSettings):
    """A layer and its builds, keyed `python3.12-x86_64`."""

    builds: dict[str, LayerBuild]


class Throttling(TypedDict):
    rate_limit: float
    burst_limit: int


class RouteSettings(TypedDict):
    authorization: str  # "NONE", "AWS_IAM" or an authorizer's name
    scopes: list[str]
    throttling: Throttling | None


class ApiSettings(TypedDict):
    """functions/api.toml: the HTTP API's CORS, throttling, authorizers and per-route authorization."""

    cors: Cors | None
    throttling: Throttling | None
    authorizers: dict[str, dict[str, Any]]  # by name: a "jwt" or a "lambda" authorizer (the schema has both shapes)
    routes: dict[str, RouteSettings]


class Manifest(TypedDict):
    schema_version: Literal[1]
    functions: dict[str, FunctionEntry]
    chains: dict[str, ChainEntry]
    layers: dict[str, LayerEntry]  # read_manifest supplies {} for a manifest written before layers existed
    api: NotRequired[ApiSettings]  # absent before functions/api.toml existed
    # Declared in functions/resources.toml (build/event_resources.py), by name; absent before event sources.
    queues: NotRequired[dict[str, dict[str, Any]]]
    topics: NotRequired[dict[str, dict[str, Any]]]
    streams: NotRequired[dict[str, dict[str, Any]]]
    buses: NotRequired[dict[str, dict[str, Any]]]


def empty_manifest() -> Manifest:
    return {"schema_version": SCHEMA_VERSION, "functions": {}, "chains": {}, "layers": {}}


def read_manifest(path: Path) -> Manifest:
    """The manifest at `path`, or an empty one when there is none yet or it is of another schema version.

    Raises UserError (one line naming the file and the key) for a manifest that is not of the schema's shape.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty_manifest()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read ({exc}); {_REMEDY}") from None
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); {_REMEDY}") from None
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply); {_REMEDY}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: key '(top level)': must be a JSON object; {_REMEDY}")
    if data.get("schema_version") != SCHEMA_VERSION:
        return empty_manifest()  # another version's: rebuild everything
    if not stamps.matches(path):
        check_manifest(data, str(path))
    data.setdefault("layers", {})
    return cast(Manifest, data)


_REMEDY = "fix it, or delete it and rebuild (python build.py clean && python build.py all)"


def check_manifest(data: object, source: str) -> None:
    """Raise UserError naming `source` and the offending key unless `data` is of manifest.schema.json's shape."""
    jsonschema = _import_jsonschema()
    validator = jsonschema.Draft202012Validator(load_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise UserError(f"{source}: key '{_key(error)}': {error.message}; {_REMEDY}")


def _import_jsonschema() -> Any:
    """jsonschema, imported without the libraries of the format checkers it registers on import when installed.

    rfc3987_syntax (installed through cyclonedx's validation extra) compiles 38 grammars on import, ~1.5 s of a
    `build.py` run that reads a manifest it did not write; the manifest schema checks no `format`, and jsonschema
    treats a missing library as not installed. Only when nothing imported either already. A validator that imports
    jsonschema later in the same process lacks the `iri` checks: only tests do that (tests/test_sbom.py, whose
    SBOMs have no IRI field).
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import jsonschema

        return jsonschema
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import raises ImportError: skipped
    try:
        import jsonschema
    finally:
        del sys.modules["rfc3987_syntax"]
    return jsonschema


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def _key(error: Any) -> str:
    """The dotted path of the offending key (`functions.echo.memory_size`), naming a missing or unknown one."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        path += [name for name in error.validator_value if name not in error.instance][:1]
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        path += sorted(name for name in error.instance if name not in known)[:1]
    return ".".join(path) or "(top level)"


Chains = Callable[[dict[str, FunctionEntry]], dict[str, ChainEntry]]
Resources = dict[str, dict[str, dict[str, Any]]]  # "queues", "topics", "streams", "buses": declarations by name


def render(
    functions: dict[str, FunctionEntry],
    chains: dict[str, ChainEntry],
    layers: dict[str, LayerEntry] | None = None,
    api: ApiSettings | None = None,
    resources: Resources | None = None,
) -> str:
    """The manifest's text; keys sorted so that equal builds give equal bytes.

    `api` is functions/api.toml's HTTP API settings (CORS, throttling, authorizers, route authorization);
    `resources` adds the declared queues, topics, streams and buses as top-level keys of those names.
    """
    data: Manifest = {
        "schema_version": SCHEMA_VERSION,
        "functions": functions,
        "chains": chains,
        "layers": layers or {},
    }
    if api is not None:
        data["api"] = api
    text_data: dict[str, Any] = {**data, **(resources or {})}
    return json.dumps(text_data, indent=2, sort_keys=True) + "\n"


def write_manifest(
    path: Path,
    functions: dict[str, FunctionEntry],
    chains: dict[str, ChainEntry],
    layers: dict[str, LayerEntry] | None = None,
    api: ApiSettings | None = None,
    resources: Resources | None = None,
) -> None:
    """Atomically write the manifest, and stamp it as this tool's own (reading it back skips the schema check)."""
    atomic.write_text(path, render(functions, chains, layers, api, resources))
    stamps.record(path)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the manifest beside `path` (released when the process dies, too)."""
    lock_path = path.with_name(LOCK_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        why = f"cannot write the manifest ({exc.strerror}); is the checkout read-only?"
        raise UserError(f"{path.parent}/: {why}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def update_manifest(
    path: Path,
    entries: dict[str, FunctionEntry],
    keep: Callable[[str], bool],
    chains: Chains,
    on_disk: Callable[[FunctionEntry], bool] = lambda entry: True,
    layers: dict[str, LayerEntry] | None = None,
    keep_layer: Callable[[str], bool] = lambda name: True,
    api: ApiSettings | None = None,
    resources: Resources | None = None,
) -> dict[str, FunctionEntry]:
    """Merge `entries` into the manifest as it is now (keeping the entries `keep` accepts) and write it.

    `layers` (the layers this build built) are merged the same way into the current layers `keep_layer` accepts;
    `api` and `resources` (the project's, not one build's) are written as they are.

    An entry whose zip another build has replaced since (`on_disk` says no) yields to the current entry
    when that one describes the zip on disk. Returns the functions written. Nothing is written (and no lock
    taken) when the text would not change, so a no-op build works on a read-only checkout.
    """
    functions, all_layers = _merged(path, entries, keep, on_disk, layers or {}, keep_layer)
    if _holds(path, render(functions, chains(functions), all_layers, api, resources)):
        if not stamps.matches(path):
            with contextlib.suppress(OSError):  # a read-only checkout: the next read checks the schema again
                stamps.record(path)
        return functions
    with locked(path):
        # again: another build may have written it meanwhile
        functions, all_layers = _merged(path, entries, keep, on_disk, layers or {}, keep_layer)
        write_manifest(path, functions, chains(functions), all_layers, api, resources)
    return functions


def _holds(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _merged(
    path: Path,
    entries: dict[str, FunctionEntry],
    keep: Callable[[str], bool],
    on_disk: Callable[[FunctionEntry], bool],
    layers: dict[str, LayerEntry],
    keep_layer: Callable[[str], bool],
) -> tuple[dict[str, FunctionEntry], dict[str, LayerEntry]]:
    manifest = read_manifest(path)
    current = manifest["functions"]
    merged_layers = {name: entry for name, entry in manifest["layers"].items() if keep_layer(name)} | layers
    merged = {name: entry for name, entry in current.items() if keep(name)}
    for name, entry in entries.items():
        theirs = merged.get(name)
        if theirs is not None and theirs != entry and not on_disk(entry) and on_disk(theirs):
            continue  # another build replaced this zip after ours and recorded it
        merged[name] = entry
    return merged, merged_layers
