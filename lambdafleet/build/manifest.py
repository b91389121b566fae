"""`build/manifest.json`: what was built, in the shape Terraform reads with jsondecode(file(...)).

Several `build.py` runs may update it at once (one per function, say), so every update re-reads it
under an exclusive file lock and merges its own entries into what is there, never into a stale copy.
"""

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lambdafleet.build import atomic
from lambdafleet.errors import UserError

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".manifest.lock"

Chains = Callable[[dict[str, dict[str, Any]]], dict[str, Any]]


def _empty() -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "functions": {}, "chains": {}, "layers": {}}


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at `path`, or an empty one when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _empty()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read ({exc}); delete it or run: python build.py clean") from None
    fix = "delete it or run: python build.py clean"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); {fix}") from None
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply); {fix}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: must be a JSON object with 'schema_version' and 'functions'; {fix}")
    if data.get("schema_version") != SCHEMA_VERSION:
        return _empty()
    if not isinstance(data.get("functions"), dict) or not all(
        isinstance(entry, dict) for entry in data["functions"].values()
    ):
        raise UserError(f"{path}: key 'functions': must map names to entries; {fix}")
    data.setdefault("layers", {})
    if not isinstance(data["layers"], dict):
        raise UserError(f"{path}: key 'layers': must map names to entries; {fix}")
    return data


def render(
    functions: dict[str, dict[str, Any]],
    chains: dict[str, Any],
    layers: dict[str, Any] | None = None,
    api: dict[str, Any] | None = None,
) -> str:
    """The manifest's text; keys sorted so that equal builds give equal bytes.

    `api` is functions/api.toml's HTTP API settings (CORS, throttling, authorizers, route authorization).
    """
    data = {"schema_version": SCHEMA_VERSION, "functions": functions, "chains": chains, "layers": layers or {}}
    if api is not None:
        data["api"] = api
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_manifest(
    path: Path,
    functions: dict[str, dict[str, Any]],
    chains: dict[str, Any],
    layers: dict[str, Any] | None = None,
    api: dict[str, Any] | None = None,
) -> None:
    """Atomically write the manifest."""
    atomic.write_text(path, render(functions, chains, layers, api))


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
    entries: dict[str, dict[str, Any]],
    keep: Callable[[str], bool],
    chains: Chains,
    on_disk: Callable[[dict[str, Any]], bool] = lambda entry: True,
    layers: dict[str, Any] | None = None,
    keep_layer: Callable[[str], bool] = lambda name: True,
    api: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Merge `entries` into the manifest as it is now (keeping the entries `keep` accepts) and write it.

    `layers` (the layers this build built) are merged the same way into the current layers `keep_layer` accepts;
    `api` (the project's, not one build's) is written as it is.

    An entry whose zip another build has replaced since (`on_disk` says no) yields to the current entry
    when that one describes the zip on disk. Returns the functions written. Nothing is written (and no lock
    taken) when the text would not change, so a no-op build works on a read-only checkout.
    """
    functions, all_layers = _merged(path, entries, keep, on_disk, layers or {}, keep_layer)
    if _holds(path, render(functions, chains(functions), all_layers, api)):
        return functions
    with locked(path):
        # again: another build may have written it meanwhile
        functions, all_layers = _merged(path, entries, keep, on_disk, layers or {}, keep_layer)
        write_manifest(path, functions, chains(functions), all_layers, api)
    return functions


def _holds(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _merged(
    path: Path,
    entries: dict[str, dict[str, Any]],
    keep: Callable[[str], bool],
    on_disk: Callable[[dict[str, Any]], bool],
    layers: dict[str, Any],
    keep_layer: Callable[[str], bool],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
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
