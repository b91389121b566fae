"""`build.py list | check | lock | clean | new`: work on the functions without building them."""

import argparse
import contextlib
import json
import os
import shutil
import sys

from lambdafleet.build.config import ARCHITECTURES, RUNTIMES, FunctionConfig
from lambdafleet.build.lockfile import write_lock
from lambdafleet.build.paths import BUILD_DIR, CACHE_PARTS, build_dir, cache_root
from lambdafleet.build.plan import plan_function
from lambdafleet.build.platforms import Target
from lambdafleet.build.project import Project, load_project
from lambdafleet.build.scaffold import create_function
from lambdafleet.build.syntax import unchecked_warnings
from lambdafleet.cli import EXIT_USER_ERROR, Commands
from lambdafleet.errors import UserError
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
    if args.runtime or args.architecture:
        return _migration_report(project, configs, args.runtime, args.architecture)
    for config in configs:
        plan_function(project, config)
    for warning in unchecked_warnings():
        print(warning, file=sys.stderr)
    print(f"ok: {len(configs)} function(s), configs and locks valid")
    return 0


def _migration_report(project: Project, configs: list[FunctionConfig], runtime: str | None, arch: str | None) -> int:
    """`check --runtime/--architecture`: the pins that would lose their wheels; changes nothing."""
    from lambdafleet.build.migration import lost_wheels

    lost = lost_wheels(project, configs, runtime, arch)
    wanted = " ".join(part for part in (runtime, arch) if part)
    for item in lost:
        print(item.describe())
    if lost:
        print(
            f"{len(lost)} pinned package(s) of {len(configs)} function(s) lose their wheels on {wanted}",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    print(f"ok: {len(configs)} function(s) keep a wheel for every pinned package on {wanted}")
    return 0


def _lock(args: argparse.Namespace) -> int:
    project = load_project(args.root)
    for config in project.select(args.names or None):
        target = Target(config.runtime, config.architecture)
        if write_lock(project.function_dir(config.name), target, f"functions/{config.name}/"):
            print(f"locked  {config.name:<24} for {target}")
    return 0


def _clean(args: argparse.Namespace) -> int:
    try:
        shutil.rmtree(build_dir(args.root))
    except FileNotFoundError:
        pass
    except OSError as exc:
        where = os.path.relpath(exc.filename, args.root) if exc.filename else BUILD_DIR
        raise UserError(f"{BUILD_DIR}/: cannot delete {where} ({exc.strerror}); is the tree read-only?") from None
    if args.cache:
        cache = cache_root(args.root)
        for part in CACHE_PARTS:
            task_root.remove(cache / part)  # gives write permission back to the read-only unpacked zips
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
        if name == "check":
            parser.add_argument(
                "--runtime", choices=RUNTIMES, help="report the pins that lose their wheels on this runtime (no change)"
            )
            parser.add_argument(
                "--architecture", choices=ARCHITECTURES, help="report the pins that lose their wheels on it (no change)"
            )
        parser.set_defaults(run=run)
    clean = subparsers.add_parser("clean", help="delete build/ (and with --cache, the dependency cache)")
    clean.add_argument("--cache", action="store_true", help="also delete the dependency cache")
    clean.set_defaults(run=_clean)
    new = subparsers.add_parser("new", help="create functions/NAME/ from a template that builds and tests")
    new.add_argument("name", metavar="NAME", help="the new function's folder name under functions/")
    new.set_defaults(run=_new)
