"""`build.py list | check | lock | clean | new`: work on the functions without building them."""

import argparse
import contextlib
import json
import shutil

from lambdafleet.build.lockfile import write_lock
from lambdafleet.build.paths import CACHE_PARTS, build_dir, cache_root
from lambdafleet.build.plan import plan_function
from lambdafleet.build.platforms import Target
from lambdafleet.build.project import load_project
from lambdafleet.build.scaffold import create_function
from lambdafleet.cli import Commands
from lambdafleet.runtime import task_root


def _list(args: argparse.Namespace) -> int:
    project = load_project(args.root)
    configs = project.select(args.names or None)
    if args.json:
        print(json.dumps([c.to_manifest() for c in configs], indent=2))
        return 0
    for c in configs:
        routes = ", ".join(c.routes) or "-"
        print(f"{c.name:<24} {c.runtime:<11} {c.architecture:<7} {c.memory_size:>5} MB {c.timeout:>4} s  {routes}")
    return 0


def _check(args: argparse.Namespace) -> int:
    project = load_project(args.root)
    configs = project.select(args.names or None)
    for config in configs:
        plan_function(project, config)
    print(f"ok: {len(configs)} function(s), configs and locks valid")
    return 0


def _lock(args: argparse.Namespace) -> int:
    project = load_project(args.root)
    for config in project.select(args.names or None):
        target = Target(config.runtime, config.architecture)
        if write_lock(project.function_dir(config.name), target, f"functions/{config.name}/"):
            print(f"locked  {config.name:<24} for {target}")
    return 0


def _clean(args: argparse.Namespace) -> int:
    shutil.rmtree(build_dir(args.root), ignore_errors=True)
    if args.cache:
        cache = cache_root(args.root)
        for part in CACHE_PARTS:
            task_root.remove(cache / part)  # gives write permission back to a crashed pool's read-only task root
        with contextlib.suppress(OSError):  # left in place when it holds anything else
            cache.rmdir()
    return 0


def _new(args: argparse.Namespace) -> int:
    folder = create_function(args.root, args.name)
    print(f"created {folder.relative_to(args.root)}/ — build it with: python build.py {args.name}")
    return 0


def register(subparsers: Commands) -> None:
    """Add the list, check, lock, clean and new commands."""
    for name, run, text in (
        ("list", _list, "list functions and their settings"),
        ("check", _check, "validate configs and locks without building"),
        ("lock", _lock, "regenerate requirements.txt (with hashes) from requirements.in for Lambda's platform"),
    ):
        parser = subparsers.add_parser(name, help=text)
        parser.add_argument("names", nargs="*", metavar="NAME", help="functions (default: all)")
        if name == "list":
            parser.add_argument("--json", action="store_true", help="print the resolved configs as JSON")
        parser.set_defaults(run=run)
    clean = subparsers.add_parser("clean", help="delete build/ (and with --cache, the dependency cache)")
    clean.add_argument("--cache", action="store_true", help="also delete the dependency cache")
    clean.set_defaults(run=_clean)
    new = subparsers.add_parser("new", help="create functions/NAME/ from a template that builds and tests")
    new.add_argument("name", metavar="NAME", help="the new function's folder name under functions/")
    new.set_defaults(run=_new)
