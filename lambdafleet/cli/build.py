"""`build.py all` and `build.py NAME...`: build zips and the manifest."""

import argparse
import json
import sys
import threading
from typing import Any

from lambdafleet.api import run_build
from lambdafleet.build.manifest import ImageContext
from lambdafleet.build.plan import DIRECT_UPLOAD_LIMIT, MB
from lambdafleet.build.strategies import BuildOutcome
from lambdafleet.build.syntax import unchecked_warnings
from lambdafleet.cli import EXIT_FAULT, EXIT_USER_ERROR, Commands, print_internal_error
from lambdafleet.errors import BuildError, UserError, one_line


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"-j takes a whole number of at least 1, got {text!r}")
    return int(text)


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-j", "--jobs", type=_positive, help="functions built in parallel (default: cores)")
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    parser.add_argument("--upload", metavar="s3://BUCKET/PREFIX", help="upload zips to S3 and record them")
    parser.add_argument(
        "--changed-since",
        metavar="GIT_REF",
        help="build only functions whose inputs changed since GIT_REF (and any missing from the manifest)",
    )


def _size(value: int) -> str:
    return f"{value / 1024:.1f} KB" if value < MB else f"{value / MB:.1f} MB"


class _Progress:
    """Prints a line per function as it finishes (stderr, so --json output stays clean)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._mutex = threading.Lock()

    def __call__(self, outcome: BuildOutcome) -> None:
        with self._mutex:
            if outcome.error is not None:
                self._failed(outcome.name, outcome.error)
                return
            if outcome.entry is not None and outcome.entry["image"] is not None:
                self._image(outcome, outcome.entry["image"])
                return
            built = outcome.entry or outcome.layer  # a zip function's entry, or a layer zip's
            assert built is not None  # an outcome without an error has what it built
            size, unzipped_size = built["size"] or 0, built["unzipped_size"] or 0  # None only for images
            if not self.quiet:
                print(
                    f"{outcome.status:<7} {outcome.name:<24} {_size(size):>9} zip"
                    f" {_size(unzipped_size):>9} unzipped {outcome.seconds:6.2f} s",
                    file=sys.stderr,
                )
            if size > DIRECT_UPLOAD_LIMIT:
                print(
                    f"warning: build/{built['zip']} is {_size(size)}, over Lambda's 50 MB direct upload "
                    "limit; deploy it with --upload s3://BUCKET/PREFIX",
                    file=sys.stderr,
                )

    def _failed(self, name: str, error: Exception) -> None:
        print(f"failed  {name:<24} {_message(error)}", file=sys.stderr)
        if not isinstance(error, UserError | BuildError):
            print_internal_error(error)  # a bug in a build worker: its traceback, not one line that hides it

    def _image(self, outcome: BuildOutcome, image: ImageContext) -> None:
        if not self.quiet:
            context = f"build/{image['context']}/"
            print(f"{outcome.status:<7} {outcome.name:<24} {context} (image) {outcome.seconds:6.2f} s", file=sys.stderr)


def _message(error: Exception) -> str:
    if isinstance(error, UserError | BuildError):
        return one_line(str(error))
    return f"internal error: {type(error).__name__}: {error}"


def _summary(outcomes: list[BuildOutcome]) -> dict[str, Any]:
    return {
        "ok": not any(o.error for o in outcomes),
        "error": None,
        "functions": [
            {
                "name": o.name,
                "status": o.status,
                "seconds": round(o.seconds, 3),
                "error": _message(o.error) if o.error else None,
                **({k: o.entry[k] for k in ("zip", "size", "unzipped_size", "sha256")} if o.entry else {}),
            }
            for o in outcomes
        ],
    }


def _run(args: argparse.Namespace) -> int:
    names = args.names or None
    try:
        outcomes = run_build(
            args.root,
            names,
            force=args.force,
            jobs=args.jobs,
            upload=args.upload,
            changed_since=args.changed_since,
            allow_empty=getattr(args, "allow_empty", False),
            report=_Progress(args.quiet),
        )
    except (UserError, BuildError) as exc:
        if args.json:  # scripts reading stdout get an answer too; the error line still goes to stderr
            print(json.dumps({"ok": False, "error": str(exc), "functions": []}, indent=2))
        raise
    for warning in unchecked_warnings():
        print(warning, file=sys.stderr)
    if not outcomes and args.changed_since and not args.quiet:
        print(f"nothing to build: no function changed since {args.changed_since}", file=sys.stderr)
    if args.json:
        print(json.dumps(_summary(outcomes), indent=2))
    errors = [o.error for o in outcomes if o.error]
    if not errors:
        return 0
    return EXIT_USER_ERROR if all(isinstance(e, UserError) for e in errors) else EXIT_FAULT


def register(subparsers: Commands) -> None:
    """Add the `all` and `build` commands."""
    every = subparsers.add_parser("all", help="build every function under functions/")
    _add_build_options(every)
    every.add_argument(
        "--allow-empty",
        action="store_true",
        help="write a manifest even when functions/ holds no function (terraform apply then destroys every function)",
    )
    every.set_defaults(run=_run, names=[])
    named = subparsers.add_parser("build", help="build the named functions (also: build.py NAME ...)")
    named.add_argument("names", nargs="+", metavar="NAME", help="functions to build (folders under functions/)")
    _add_build_options(named)
    named.set_defaults(run=_run)
