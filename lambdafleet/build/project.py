"""The monorepo as a whole: which functions exist, and the rules that span several of them."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from lambdafleet.build.api_config import EMPTY as EMPTY_API
from lambdafleet.build.api_config import load_api
from lambdafleet.build.config import FunctionConfig, load_config, read_toml
from lambdafleet.build.layers import LayerConfig, check_function_layers, load_layers
from lambdafleet.build.manifest import ApiSettings, ChainEntry
from lambdafleet.errors import UserError

FUNCTIONS_DIR = "functions"
SHARED_DIR = "lib"
CHAINS_FILE = "chains.toml"
# A leading '-' would read as an option on build.py's command line.
FUNCTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
NAME_RULE = "letters, digits, '-', '_', starting with a letter or digit, at most 64 chars"
# Subcommands of build.py: a function with one of these names could not be built by name.
RESERVED_NAMES = frozenset(
    {"all", "build", "check", "clean", "list", "lock", "new", "invoke", "local", "logs", "push", "token", "verify"}
)


@dataclass(frozen=True)
class Chain:
    """A Step Functions state machine that runs functions one after another."""

    name: str
    steps: tuple[str, ...]
    description: str = ""

    def to_manifest(self) -> ChainEntry:
        return {"name": self.name, "steps": list(self.steps), "description": self.description}


@dataclass(frozen=True)
class Project:
    """Every function of the repository, validated together."""

    root: Path
    functions: dict[str, FunctionConfig]
    chains: dict[str, Chain]
    # functions/api.toml: CORS, throttling, authorizers and per-route authorization of the HTTP API.
    api: ApiSettings = field(default_factory=lambda: cast(ApiSettings, dict(EMPTY_API)))
    layers: dict[str, LayerConfig] = field(default_factory=dict)

    def function_dir(self, name: str) -> Path:
        return self.root / FUNCTIONS_DIR / name

    def shared_dir(self, name: str) -> Path:
        return self.root / SHARED_DIR / name

    def select(self, names: Iterable[str] | None) -> list[FunctionConfig]:
        """The configs of `names` (all when None); an unknown name is a user error."""
        if names is None:
            return list(self.functions.values())
        unknown = [n for n in names if n not in self.functions]
        if unknown:
            known = ", ".join(self.functions) or "none"
            raise UserError(f"{FUNCTIONS_DIR}/{unknown[0]}: no such function (known: {known})")
        return [self.functions[n] for n in dict.fromkeys(names)]


def validate_name(name: str, label: str) -> None:
    """Raise UserError unless `name` is usable as a function (folder) name."""
    if not FUNCTION_NAME.fullmatch(name):
        raise UserError(f"{label}: invalid function name {name!r}: use {NAME_RULE}")
    if name in RESERVED_NAMES:
        raise UserError(f"{label}: function name {name!r} is reserved for a build.py command")


def function_dirs(root: Path) -> list[Path]:
    """Folders under functions/ that are functions (hidden folders and caches are not)."""
    base = root / FUNCTIONS_DIR
    if not base.is_dir():
        raise UserError(f"{FUNCTIONS_DIR}/: folder missing (run build.py from the repository root)")
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))


def _check_unique_names(dirs: list[Path]) -> None:
    seen: dict[str, str] = {}
    for path in dirs:
        label = f"{FUNCTIONS_DIR}/{path.name}"
        validate_name(path.name, label)
        # Folders differing only in case collide on macOS and in build/<name>.zip.
        other = seen.setdefault(path.name.lower(), path.name)
        if other != path.name:
            raise UserError(f"{label}: name clashes with {FUNCTIONS_DIR}/{other} (names must differ in more than case)")


def _check_destinations(functions: dict[str, FunctionConfig]) -> None:
    for config in functions.values():
        for key, target in config.destinations.items():
            if target is None:
                continue
            source = f"{FUNCTIONS_DIR}/{config.name}/function.toml: key 'destinations.{key}'"
            if target == config.name:
                raise UserError(f"{source}: a function cannot be its own destination")
            if target not in functions:
                raise UserError(f"{source}: no function named {target!r} under {FUNCTIONS_DIR}/")


def _check_routes(functions: dict[str, FunctionConfig]) -> None:
    owners: dict[str, str] = {}
    for config in functions.values():
        for route in config.routes:
            owner = owners.setdefault(route, config.name)
            if owner != config.name:
                raise UserError(
                    f"{FUNCTIONS_DIR}/{config.name}/function.toml: key 'routes': {route!r} is already served by {owner}"
                )


def _check_shared(root: Path, functions: dict[str, FunctionConfig]) -> None:
    for config in functions.values():
        for name in config.shared:
            if not FUNCTION_NAME.fullmatch(name) or not (root / SHARED_DIR / name).is_dir():
                raise UserError(
                    f"{FUNCTIONS_DIR}/{config.name}/function.toml: key 'shared': no folder {SHARED_DIR}/{name}/"
                )


def _load_chains(root: Path, functions: dict[str, FunctionConfig]) -> dict[str, Chain]:
    path = root / FUNCTIONS_DIR / CHAINS_FILE
    if not path.is_file():
        return {}
    source = f"{FUNCTIONS_DIR}/{CHAINS_FILE}"
    raw = read_toml(path, source)
    unknown = set(raw) - {"chains"}
    if unknown:
        raise UserError(f"{source}: key '{sorted(unknown)[0]}': unknown key; expected [chains.<name>] tables")
    if not isinstance(raw.get("chains", {}), dict):
        raise UserError(f"{source}: key 'chains': must be tables like [chains.<name>]")
    chains = {}
    for name, body in raw.get("chains", {}).items():
        key = f"chains.{name}"
        if not isinstance(body, dict) or not FUNCTION_NAME.fullmatch(name):
            raise UserError(f"{source}: key '{key}': must be a table named with {NAME_RULE}")
        extra = set(body) - {"steps", "description"}
        if extra:
            raise UserError(f"{source}: key '{key}.{sorted(extra)[0]}': unknown key; expected steps, description")
        steps = body.get("steps")
        if not isinstance(steps, list) or len(steps) < 2 or not all(isinstance(s, str) for s in steps):
            raise UserError(f"{source}: key '{key}.steps': must list at least two function names")
        missing = [s for s in steps if s not in functions]
        if missing:
            raise UserError(f"{source}: key '{key}.steps': no function named {missing[0]!r}")
        description = body.get("description", "")
        if not isinstance(description, str):
            raise UserError(f"{source}: key '{key}.description': must be a string")
        chains[name] = Chain(name, tuple(steps), description)
    return chains


def load_project(root: Path) -> Project:
    """Load and validate every function under `root/functions` and the chains between them."""
    dirs = function_dirs(root)
    _check_unique_names(dirs)
    functions = {d.name: load_config(d, f"{FUNCTIONS_DIR}/{d.name}/") for d in dirs}
    _check_destinations(functions)
    _check_routes(functions)
    _check_shared(root, functions)
    routes = {name: config.routes for name, config in functions.items()}
    api = cast(ApiSettings, load_api(root / FUNCTIONS_DIR, routes, read_toml))  # the schema's `api` shape
    layers = load_layers(root)
    check_function_layers(functions, layers)
    return Project(root=root, functions=functions, chains=_load_chains(root, functions), layers=layers, api=api)
