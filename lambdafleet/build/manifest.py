"""`build/manifest.json`: what was built, in the shape Terraform reads with jsondecode(file(...))."""

import json
from pathlib import Path
from typing import Any

from lambdafleet.build import atomic
from lambdafleet.errors import UserError

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at `path`, or an empty one when there is none yet."""
    if not path.is_file():
        return {"schema_version": SCHEMA_VERSION, "functions": {}, "chains": {}, "layers": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); delete it or run: python build.py clean") from None
    if data.get("schema_version") != SCHEMA_VERSION:
        return {"schema_version": SCHEMA_VERSION, "functions": {}, "chains": {}, "layers": {}}
    data.setdefault("layers", {})
    return data


def write_manifest(
    path: Path,
    functions: dict[str, dict[str, Any]],
    chains: dict[str, Any],
    layers: dict[str, Any] | None = None,
    api: dict[str, Any] | None = None,
) -> None:
    """Atomically write the manifest; keys sorted so that equal builds give equal bytes.

    `api` is functions/api.toml's HTTP API settings (CORS, throttling, authorizers, route authorization).
    """
    data = {"schema_version": SCHEMA_VERSION, "functions": functions, "chains": chains, "layers": layers or {}}
    if api is not None:
        data["api"] = api
    atomic.write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
