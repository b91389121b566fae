"""`build.py up`'s watch mode: poll functions/ and lib/, rebuild what changed, and make it live on the endpoint.

A change that only alters a function's code goes straight to the endpoint (UpdateFunctionCode with the rebuilt
zip): the next request runs it, well under a second after the save. A change to function.toml, a lock, or the set
of functions changes what Terraform manages, so it re-runs `terraform apply`, which changes only what differs.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdafleet.api import run_build
from lambdafleet.build.manifest import MANIFEST_FILE, read_manifest
from lambdafleet.build.paths import build_dir
from lambdafleet.errors import UserError

WATCHED = ("functions", "lib", "layers")
# Manifest keys that change with the code alone; any other difference is Terraform's to apply.
CODE_KEYS = frozenset({"sha256", "source_code_hash", "zip", "s3", "build_key", "size", "unzipped_size"})
# Editors write a file in several steps (truncate, write, rename): wait this long for them to settle.
SETTLE_S = 0.02

Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """Every watched file's (mtime_ns, size), by path relative to `root`; caches and hidden files left out."""
    files: Snapshot = {}
    for top in WATCHED:
        folder = root / top
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            relative = path.relative_to(root)
            if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                continue
            try:
                status = path.stat()
            except OSError:  # deleted while walking
                continue
            if path.is_file():
                files[relative.as_posix()] = (status.st_mtime_ns, status.st_size)
    return files


def changed_paths(before: Snapshot, after: Snapshot) -> set[str]:
    """Paths added, removed or rewritten between two snapshots."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def affected_names(paths: set[str], known: set[str]) -> list[str] | None:
    """The functions whose folders hold `paths`; None when a change may touch any (lib/, chains.toml, a new one)."""
    names = set()
    for path in paths:
        parts = path.split("/")
        if parts[0] != "functions" or len(parts) < 3 or parts[1] not in known:
            return None
        names.add(parts[1])
    return sorted(names)


def code_only(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """True when a function's manifest entry changed in its code alone (and it is a zip function)."""
    if before is None or after.get("package_type", "zip") != "zip":
        return False
    differing = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    return differing <= CODE_KEYS


@dataclass
class Redeployer:
    """Makes rebuilt functions live: code straight to the endpoint, anything else through `apply`.

    `update_code(name, zip_bytes)` uploads a function's new zip; `apply()` re-runs terraform apply and returns the
    deployed names by function. `say` prints one line.
    """

    root: Path
    update_code: Callable[[str, bytes], None]
    apply: Callable[[], None]
    say: Callable[[str], None]
    previous: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.previous = self._manifest()

    def _manifest(self) -> dict[str, Any]:
        return dict(read_manifest(build_dir(self.root) / MANIFEST_FILE))

    def handle(self, paths: set[str], edited_at: float) -> None:
        """Rebuild after `paths` changed (the newest edit at `edited_at`, time.time()) and make it live."""
        names = affected_names(paths, set(self.previous["functions"]))
        try:
            outcomes = run_build(self.root, names)
        except UserError as error:
            self.say(f"error: {error} (fix it and save again)")
            return
        for outcome in outcomes:
            if outcome.error:
                self.say(f"error: {outcome.name}: {outcome.error} (the deployed code is unchanged)")
        manifest = self._manifest()
        current, before = manifest["functions"], self.previous["functions"]
        built = [outcome.name for outcome in outcomes if outcome.status == "built" and not outcome.error]
        structural = set(current) != set(before) or _beyond_functions(manifest) != _beyond_functions(self.previous)
        code = [name for name in built if code_only(before.get(name), current[name])]
        if structural or len(code) < len(built):
            self.say(f"applying: {', '.join(sorted(set(built) - set(code))) or 'the function set changed'}")
            started = time.monotonic()
            self.apply()
            self.say(f"applied in {time.monotonic() - started:.1f} s")
        else:
            for name in code:
                self.update_code(name, (build_dir(self.root) / current[name]["zip"]).read_bytes())
            if code:
                self.say(f"{', '.join(code)}: live {time.time() - edited_at:.2f} s after the save (code updated)")
        self.previous = manifest


def _beyond_functions(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's other sections (chains, layers, ...): any change there is Terraform's."""
    return {key: value for key, value in manifest.items() if key != "functions"}


def watch(root: Path, redeployer: Redeployer, stopped: Callable[[float], bool], poll_s: float = 0.05) -> None:
    """Poll until `stopped(poll_s)` (which waits up to poll_s) returns True, handing each change to `redeployer`."""
    before = snapshot(root)
    while not stopped(poll_s):
        after = snapshot(root)
        paths = changed_paths(before, after)
        if not paths:
            continue
        time.sleep(SETTLE_S)
        after = snapshot(root)
        paths = changed_paths(before, after)
        newest = max((after[path][0] for path in paths if path in after), default=time.time_ns()) / 1e9
        redeployer.handle(paths, newest)
        before = after
