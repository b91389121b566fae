"""build/manifest.json as a documented contract: lambdafleet/build/manifest.schema.json describes every manifest a
build writes, the Python TypedDicts say the same, and a manifest of another shape is one line naming the key."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from lambdafleet.build import config, image, permissions
from lambdafleet.build.manifest import (
    ApiSettings,
    ChainEntry,
    Cors,
    Destinations,
    FunctionEntry,
    FunctionUrl,
    ImageContext,
    LayerBuild,
    LayerEntry,
    Manifest,
    Permission,
    PermissionRule,
    RouteSettings,
    S3Location,
    Statement,
    Throttling,
    check_manifest,
    load_schema,
)
from lambdafleet.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema()
DEFS = SCHEMA["$defs"]
FUNCTION = DEFS["function"]["properties"]


def _object(schema: dict[str, Any]) -> dict[str, Any]:
    """The object alternative of a `oneOf: [null, object]` property."""
    return next(option for option in schema.get("oneOf", [schema]) if option.get("type") == "object")


@pytest.mark.parametrize(
    ("typed", "schema"),
    [
        (Manifest, SCHEMA),
        (FunctionEntry, DEFS["function"]),
        (ChainEntry, DEFS["chain"]),
        (Destinations, FUNCTION["destinations"]),
        (Permission, DEFS["permission"]),
        (PermissionRule, DEFS["permission"]["properties"]["allow"]["items"]),
        (Statement, DEFS["statement"]),
        (S3Location, DEFS["s3_location"]),
        (ImageContext, _object(FUNCTION["image"])),
        (LayerEntry, DEFS["layer"]),
        (LayerBuild, DEFS["layer_build"]),
        (ApiSettings, DEFS["api"]),
        (Cors, DEFS["cors"]),
        (Throttling, DEFS["throttling"]),
        (RouteSettings, DEFS["api"]["properties"]["routes"]["additionalProperties"]),
        (FunctionUrl, _object(FUNCTION["function_url"])),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_the_typed_dicts_and_the_schema_name_the_same_keys(typed: Any, schema: dict[str, Any]) -> None:
    assert set(get_type_hints(typed)) == set(schema["properties"])
    # Optional in the schema: keys that older builds did not write; read_manifest supplies the `layers` section.
    supplied = {"layers"} if typed is Manifest else set()
    assert typed.__required_keys__ == set(schema["required"]) | supplied
    assert schema["additionalProperties"] is False


def test_the_schema_is_valid_json_schema_and_its_choices_are_function_tomls() -> None:
    import jsonschema  # here, not at the top: its import costs ~1 s (lark grammars), once per test process

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert FUNCTION["runtime"]["enum"] == list(config.RUNTIMES)
    assert FUNCTION["architecture"]["enum"] == list(config.ARCHITECTURES)
    assert FUNCTION["logging_format"]["enum"] == list(config.LOGGING_FORMATS)
    assert FUNCTION["package_type"]["enum"] == list(config.PACKAGE_TYPES)
    assert DEFS["permission"]["properties"]["type"]["enum"] == list(permissions.TYPES)
    access = re.compile(DEFS["permission"]["properties"]["access"]["pattern"])
    for kind in permissions.TYPES:
        assert all(access.fullmatch(level) for level in permissions.levels_of(kind)), kind
    assert _object(FUNCTION["image"])["properties"]["platform"]["enum"] == list(image.PLATFORMS.values())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, make_workspace: Any) -> dict[str, Any]:
    """A real manifest: zip functions with every kind of setting, an image function, a chain and a layer."""
    workspace = make_workspace(tmp_path_factory.mktemp("manifest") / "repo", tmp_path_factory.mktemp("cache"))
    (workspace.root / "lib" / "common").mkdir(parents=True)
    (workspace.root / "lib" / "common" / "common.py").write_text("X = 1\n")
    workspace.add_function(
        "first",
        'memory_size = 256\ntimeout = 30\nenvironment = { MODE = "x" }\nlogging_format = "JSON"\n'
        'routes = ["POST /first"]\ndestinations = { on_failure = "second" }\npermissions = ["table:items:read"]\n'
        'shared = ["common"]\ndescription = "the first"\nlayers = ["tools"]\npayload_format_version = "1.0"\n'
        'function_url = { auth_type = "NONE", cors = { allow_origins = ["*"] } }\n',
    )
    (workspace.root / "functions" / "api.toml").write_text(
        '[cors]\nallow_origins = ["http://localhost:8000"]\n[throttling]\nrate_limit = 10\n'
        '[authorizers.users]\ntype = "jwt"\naudience = ["me"]\n'
        '[authorizers.gate]\ntype = "lambda"\nfunction = "second"\n'
        '[routes."POST /first"]\nauthorization = "users"\nscopes = ["write"]\n'
    )
    (workspace.root / "layers" / "tools" / "python").mkdir(parents=True)
    (workspace.root / "layers" / "tools" / "python" / "tools.py").write_text("Y = 2\n")
    workspace.add_function("second", 'architecture = "arm64"\n')
    workspace.add_function("boxed", 'package_type = "image"\n')
    (workspace.root / "functions" / "chains.toml").write_text('[chains.both]\nsteps = ["first", "second"]\n')
    result = workspace.run("all")
    assert result.returncode == 0, result.stderr
    manifest: dict[str, Any] = workspace.manifest()
    return manifest


def test_a_built_manifest_matches_the_schema(built: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft202012Validator(SCHEMA).validate(built)
    assert built["functions"]["boxed"]["image"] is not None and built["chains"]["both"]["steps"] == ["first", "second"]
    assert list(built["layers"]["tools"]["builds"]) == ["python3.12-x86_64"]
    assert set(built["api"]["authorizers"]) == {"users", "gate"} and built["functions"]["first"]["function_url"]
    check_manifest(built, "build/manifest.json")


def _broken(built: dict[str, Any], change: str) -> Any:
    manifest = json.loads(json.dumps(built))
    first = manifest["functions"]["first"]
    if change == "not-an-object":
        return [manifest]
    if change == "missing-functions":
        del manifest["functions"]
    elif change == "wrong-type":
        first["memory_size"] = "256"
    elif change == "missing-key":
        del first["zip"]
    elif change == "unknown-key":
        first["vpc_config"] = {}
    elif change == "bad-permission":
        first["permissions"][0]["access"] = "admin"
    elif change == "image-with-zip":
        manifest["functions"]["boxed"]["zip"] = "boxed.zip"
    elif change == "layer-without-hash":
        del manifest["layers"]["tools"]["builds"]["python3.12-x86_64"]["sha256"]
    elif change == "short-chain":
        manifest["chains"]["both"]["steps"] = ["first"]
    return manifest


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ("not-an-object", "(top level)", "is not of type 'object'"),
        ("missing-functions", "functions", "'functions' is a required property"),
        ("wrong-type", "functions.first.memory_size", "'256' is not of type 'integer'"),
        ("missing-key", "functions.first.zip", "'zip' is a required property"),
        ("unknown-key", "functions.first.vpc_config", "('vpc_config' was unexpected)"),
        ("bad-permission", "functions.first.permissions.0.access", "'admin' does not match"),
        ("image-with-zip", "functions.boxed.zip", "'boxed.zip' is not of type 'null'"),
        ("short-chain", "chains.both.steps", "['first'] is too short"),
        ("layer-without-hash", "layers.tools.builds.python3.12-x86_64.sha256", "'sha256' is a required property"),
    ],
)
def test_a_manifest_of_another_shape_is_refused_naming_the_key(
    built: dict[str, Any], change: str, key: str, problem: str
) -> None:
    with pytest.raises(UserError) as refused:
        check_manifest(_broken(built, change), "build/manifest.json")
    message = str(refused.value)
    assert message.startswith(f"build/manifest.json: key '{key}': ") and problem in message, message
    assert "\n" not in message


def test_build_refuses_an_edited_manifest_with_one_line_and_exit_2(workspace: Any) -> None:
    workspace.add_function("echo")
    assert workspace.run("all").returncode == 0
    path: Path = workspace.root / "build" / "manifest.json"
    manifest = workspace.manifest()
    manifest["functions"]["echo"]["timeout"] = 0  # an edit the stamp of the build's own manifest must not hide
    path.write_text(json.dumps(manifest))

    result = workspace.cli("all")
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {path}: key 'functions.echo.timeout': 0 is less than the minimum of 1; "
        "fix it, or delete it and rebuild (python build.py clean && python build.py all)\n"
    )
    assert json.loads(path.read_text()) == manifest  # nothing rewritten


def test_checking_a_manifest_skips_the_format_checkers_grammars() -> None:
    """jsonschema imports the libraries of its optional format checkers when it is imported; rfc3987_syntax (there
    through cyclonedx's validation extra) then compiles 38 grammars, ~1.5 s, on every `build.py` run that reads a
    manifest it did not write (a restored one in CI, say). The schema checks no format, so none is loaded."""
    probe = (
        "import sys; from lambdafleet.build.manifest import check_manifest; "
        "check_manifest({'schema_version': 1, 'functions': {}, 'chains': {}}, 'm.json'); "
        "print(sorted(m for m in ('jsonschema', 'rfc3987_syntax') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["['jsonschema']"]
