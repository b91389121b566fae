"""The monorepo as a whole: which functions exist, and the rules that span several of them."""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from lambdafleet.build import permissions
from lambdafleet.build.api_config import EMPTY as EMPTY_API
from lambdafleet.build.api_config import load_api
from lambdafleet.build.config import FunctionConfig, load_config, read_toml
from lambdafleet.build.event_resources import load_resources
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
    {"all", "build", "check", "clean", "event", "list", "lock", "new", "invoke", "local", "logs", "push", "token"}
    | {"trigger", "up", "verify"}
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
    # functions/resources.toml: queues, topics, streams and buses by kind, then name
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # functions/api.toml: CORS, throttling, authorizers and per-route authorization of the HTTP API.
    api: ApiSettings = field(default_factory=lambda: cast(ApiSettings, dict(EMPTY_API)))
    layers: dict[str, LayerConfig] = field(default_factory=dict)

    @cached_property
    def git_ignored(self) -> frozenset[str]:
        """Repository paths git ignores, asked once per build (they never ship)."""
        from lambdafleet.build.sources import git_ignored

        return git_ignored(self.root)

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


def _check_destinations(functions: dict[str, FunctionConfig], resources: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Every destination is another function, or a queue or topic declared in functions/resources.toml; no cycle."""
    for config in functions.values():
        for key, target in config.destinations.items():
            if target is None:
                continue
            if ":" in target:  # config.py allowed only queue:<name> and topic:<name>
                kind, _, name = target.partition(":")
                source = f"{FUNCTIONS_DIR}/{config.name}/function.toml: key 'destinations"
                if _declared(source, key, f"{kind}s", name, resources)["fifo"]:
                    # Lambda cannot deliver to one (DestinationDeliveryFailures): the records would be lost.
                    raise UserError(
                        f"{source}.{key}': {kind} {name!r} is FIFO; Lambda sends invocation records to standard "
                        "queues and topics only"
                    )
                continue
            source = f"{FUNCTIONS_DIR}/{config.name}/function.toml: key 'destinations.{key}'"
            if target == config.name:
                raise UserError(f"{source}: a function cannot be its own destination")
            if target not in functions:
                raise UserError(f"{source}: no function named {target!r} under {FUNCTIONS_DIR}/")
    _check_destination_cycles(functions)


def _check_destination_cycles(functions: dict[str, FunctionConfig]) -> None:
    """Refuse a loop of destinations (a -> b -> a): every event would go round it for ever.

    Lambda's recursive loop detection only stops such a loop after about 16 invocations, and the local
    endpoint would run it until stopped, so a cycle is refused before anything is built.
    """
    finished: set[str] = set()
    for start in sorted(functions):
        if start in finished:
            continue
        path = [start]
        pending = [_edges(functions[start])]
        while pending:
            edge = next(pending[-1], None)
            if edge is None:
                finished.add(path.pop())
                pending.pop()
                continue
            key, target = edge
            if target in path:
                loop = " -> ".join([*path[path.index(target) :], target])
                raise UserError(
                    f"{FUNCTIONS_DIR}/{path[-1]}/function.toml: key 'destinations.{key}': destination cycle {loop}; "
                    "an event would go round it for ever"
                )
            if target not in finished:
                path.append(target)
                pending.append(_edges(functions[target]))


def _edges(config: FunctionConfig) -> Iterator[tuple[str, str]]:
    """The destinations that are functions (a queue or topic ends a path: it invokes nothing)."""
    targets = config.destinations.items()
    return iter(sorted((key, target) for key, target in targets if target is not None and ":" not in target))


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


# The trigger key naming a declared resource, and the kind of declaration it names.
_SINGULAR = {"queues": "queue", "topics": "topic", "streams": "stream", "buses": "bus"}
_TRIGGER_SOURCES = {"sqs": ("queue", "queues"), "kinesis": ("stream", "streams"), "sns": ("topic", "topics")}


def _check_triggers(functions: dict[str, FunctionConfig], resources: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Every queue, topic, stream and bus a trigger names is declared, and fits the trigger (FIFO rules, timeouts)."""
    for config in functions.values():
        for index, trigger in enumerate(config.triggers):
            source = f"{FUNCTIONS_DIR}/{config.name}/function.toml: key 'triggers[{index}]"
            _check_trigger(source, config, trigger, resources)


def _declared(
    source: str, key: str, kind: str, name: str, resources: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    declared = resources.get(kind, {})
    if name not in declared:
        known = ", ".join(declared) or "none"
        raise UserError(
            f"{source}.{key}': no {_SINGULAR[kind]} {name!r} in {FUNCTIONS_DIR}/resources.toml (declared: {known})"
        )
    return declared[name]


def _check_trigger(
    source: str, config: FunctionConfig, trigger: dict[str, Any], resources: dict[str, dict[str, dict[str, Any]]]
) -> None:
    kind = trigger["type"]
    if kind in _TRIGGER_SOURCES:
        key, plural = _TRIGGER_SOURCES[kind]
        declared = _declared(source, key, plural, trigger[key], resources)
        if kind == "sqs":
            _check_sqs(source, config, trigger, declared)
    if kind == "eventbridge" and trigger["bus"] != "default":
        _declared(source, "bus", "buses", trigger["bus"], resources)
    if trigger.get("on_failure"):
        target_kind, _, name = trigger["on_failure"].partition(":")
        _declared(source, "on_failure", f"{target_kind}s", name, resources)


def _check_sqs(source: str, config: FunctionConfig, trigger: dict[str, Any], queue: dict[str, Any]) -> None:
    if queue["fifo"] and trigger["maximum_batching_window"]:
        raise UserError(f"{source}.maximum_batching_window': queue {queue['name']!r} is FIFO; Lambda allows no window")
    if queue["fifo"] and trigger["batch_size"] > 10:
        raise UserError(f"{source}.batch_size': queue {queue['name']!r} is FIFO; Lambda allows at most 10")
    # CreateEventSourceMapping refuses a queue whose messages could reappear while the function still runs.
    if queue["visibility_timeout"] < config.timeout:
        raise UserError(
            f"{source}.queue': queue {queue['name']!r} has visibility_timeout {queue['visibility_timeout']} s, "
            f"less than the function's timeout {config.timeout} s"
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
    resources = load_resources(root / FUNCTIONS_DIR)
    _check_destinations(functions, resources)
    _check_routes(functions)
    _check_shared(root, functions)
    routes = {name: config.routes for name, config in functions.items()}
    api = cast(ApiSettings, load_api(root / FUNCTIONS_DIR, routes, read_toml))  # the schema's `api` shape
    _check_triggers(functions, resources)
    for config in functions.values():
        source = f"{FUNCTIONS_DIR}/{config.name}/function.toml"
        permissions.check_declared(source, config.permissions, set(functions), resources)
    layers = load_layers(root)
    check_function_layers(functions, layers)
    chains = _load_chains(root, functions)
    return Project(root=root, functions=functions, chains=chains, layers=layers, api=api, resources=resources)
