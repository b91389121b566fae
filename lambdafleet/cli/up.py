"""`build.py up`: the whole stack locally in the foreground (build, the embedded endpoint, `terraform apply` of
infra/envs/local, the example model), then watch mode until Ctrl-C, which tears everything down."""

import argparse
import hashlib
import logging
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambdafleet import DEFAULT_NAME_PREFIX
from lambdafleet.build.paths import UP_TERRAFORM, build_dir, cache_root
from lambdafleet.cli import Commands, debug_options
from lambdafleet.errors import BuildError, UserError
from lambdafleet.runtime.debug import Debugger

DEFAULT_PORT = 4566  # LocalStack's, as `build.py local`


def missing_tools(root: Path) -> list[str]:
    """What this machine lacks to bring the stack up: terraform, and each zip function's python3.X."""
    from lambdafleet.build.project import load_project
    from lambdafleet.runtime.interpreter import find_interpreter

    missing = [] if shutil.which("terraform") else ["terraform (https://developer.hashicorp.com/terraform/install)"]
    runtimes: dict[tuple[str, str], list[str]] = {}
    for name, config in sorted(load_project(root).functions.items()):
        if config.package_type == "zip":
            runtimes.setdefault((config.runtime, config.architecture), []).append(name)
    for (runtime, architecture), names in sorted(runtimes.items()):
        try:
            find_interpreter(runtime, architecture, source=f"functions/{names[0]}/function.toml")
        except UserError:
            version = runtime.removeprefix("python")
            missing.append(f"python{version} (runtime of {', '.join(names)}; e.g. `pyenv install {version}`)")
    return missing


def _say(line: str) -> None:
    print(line, flush=True)


def _build(root: Path) -> None:
    from lambdafleet.api import run_build

    started = time.monotonic()
    outcomes = run_build(root)
    failed = [outcome for outcome in outcomes if outcome.error]
    if failed:
        raise failed[0].error or BuildError("build failed")
    _say(f"built {len(outcomes)} functions in {time.monotonic() - started:.1f} s")


def _run(args: argparse.Namespace) -> int:
    root: Path = args.root
    if args.port is not None and not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: not a port number (0-65535)")
    if args.plugin_dir is not None and not args.plugin_dir.is_dir():
        raise UserError(f"--plugin-dir {args.plugin_dir}: not a folder (an offline provider mirror)")
    missing = missing_tools(root)
    if missing:
        raise UserError("missing: " + "; ".join(missing))
    if args.check:
        _say("ready: terraform and every runtime's interpreter are installed")
        return 0
    debugged = _debugged(root, args)
    _build(root)
    stopped = threading.Event()
    state_dir = Path(tempfile.mkdtemp(prefix="lambdafleet-up-"))  # the endpoint's state is in memory: so is this
    endpoint = None
    try:
        endpoint_url, endpoint = _endpoint(root, args)
        deploy = _Deployment(root, args, endpoint_url, state_dir)
        deploy.apply()
        if endpoint is not None and debugged:
            _debug(endpoint, debugged, deploy.outputs)
        model = _upload_model(root, endpoint_url, deploy.outputs)
        from lambdafleet.dev.stack import describe

        for line in describe(deploy.outputs, endpoint_url):
            _say(line)
        if model:
            _say(f"model         {model}")
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        if args.no_watch:
            _say("up (Ctrl-C stops it and tears it down)")
            stopped.wait()
        else:
            _watch(root, deploy, stopped)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if endpoint is not None:
            endpoint.stop()  # the server, then every execution environment
        shutil.rmtree(state_dir, ignore_errors=True)
    _say("stopped: endpoint, functions and state are gone")
    return 0


def _debugged(root: Path, args: argparse.Namespace) -> dict[str, Debugger]:
    """The functions (by folder) that --debug names, each with its debugger; checked before anything starts."""
    from lambdafleet.build.project import load_project

    zip_functions = sorted(
        name for name, config in load_project(root).functions.items() if config.package_type == "zip"
    )
    names = debug_options.requested(args, zip_functions)
    if names and args.endpoint_url:
        raise UserError("--debug runs functions on the embedded endpoint: leave out --endpoint-url")
    return debug_options.debuggers(args, names)


def _debug(endpoint: Any, debugged: dict[str, Debugger], outputs: dict[str, Any]) -> None:
    """Start the deployed functions of `debugged` under their debuggers from their next invocation on."""
    deployed: dict[str, str] = outputs.get("function_names") or {}
    endpoint.fleet.debuggers = {deployed[name]: debugger for name, debugger in debugged.items() if name in deployed}
    for name, debugger in debugged.items():
        if name in deployed:
            _say(debug_options.describe(f"{name} ({deployed[name]})", debugger, folder=name))


def _endpoint(root: Path, args: argparse.Namespace) -> tuple[str, Any]:
    """(URL, the embedded endpoint) — or (--endpoint-url, None) for one already running, e.g. LocalStack."""
    if args.endpoint_url:
        return args.endpoint_url.rstrip("/"), None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from lambdafleet.endpoint.app import start  # imports moto

    port = DEFAULT_PORT if args.port is None else args.port
    try:
        endpoint = start(cache_root(root), port=port)
    except OSError as error:
        raise UserError(f"--port {port}: cannot listen on 127.0.0.1:{port} ({error.strerror})") from None
    return endpoint.url, endpoint


class _Deployment:
    """terraform on infra/envs/local for this run: state in a temporary folder, data dir in the cache."""

    def __init__(self, root: Path, args: argparse.Namespace, endpoint_url: str, state_dir: Path) -> None:
        from lambdafleet.dev.stack import LOCAL_ENV, Terraform, local_variables

        self.endpoint_url = endpoint_url
        self.variables = local_variables(endpoint_url, build_dir(root) / "manifest.json", args.prefix)
        self.terraform = Terraform(
            workdir=root / LOCAL_ENV,
            # The provider stays installed between runs; one data dir per checkout, as two may share the cache.
            data_dir=cache_root(root) / UP_TERRAFORM / hashlib.sha256(str(root).encode()).hexdigest()[:12],
            state_path=state_dir / "terraform.tfstate",
            plugin_dir=args.plugin_dir,
        )
        self.outputs: dict[str, Any] = {}
        started = time.monotonic()
        self.terraform.init()
        _say(f"terraform init in {time.monotonic() - started:.1f} s")

    def apply(self) -> None:
        started = time.monotonic()
        self.outputs = self.terraform.apply(self.variables)
        _say(f"terraform apply in {time.monotonic() - started:.1f} s")

    def update_code(self, name: str, zip_bytes: bytes) -> None:
        deployed = (self.outputs.get("function_names") or {}).get(name)
        if deployed:
            _client(self.endpoint_url, "lambda").update_function_code(FunctionName=deployed, ZipFile=zip_bytes)


def _client(endpoint_url: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _upload_model(root: Path, endpoint_url: str, outputs: dict[str, Any]) -> str | None:
    from lambdafleet.dev.stack import upload_model

    return upload_model(root, endpoint_url, outputs)


def _watch(root: Path, deploy: _Deployment, stopped: threading.Event) -> None:
    from lambdafleet.dev.watch import Redeployer, watch

    def apply() -> None:
        try:
            deploy.apply()
        except BuildError as error:
            _say(f"error: {error}")

    redeployer = Redeployer(root, deploy.update_code, apply, _say)
    _say("watching functions/, lib/, layers/: a saved handler is live on the next request (Ctrl-C stops, tears down)")
    waiting: Callable[[float], bool] = stopped.wait
    watch(root, redeployer, waiting)


def register(subparsers: Commands) -> None:
    """Add the up command."""
    summary = "build, serve and apply the whole stack locally, then redeploy what you save until Ctrl-C"
    parser = subparsers.add_parser(
        "up",
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. Builds every function, starts the embedded endpoint, "
        "runs terraform init + apply of infra/envs/local against it, uploads models/iris.npz, prints the API URL "
        "and function names, then watches functions/ and lib/: a code change is live on the next request, a "
        "function.toml or lock change re-applies. Ctrl-C stops everything; the state lived in memory.",
    )
    parser.add_argument("--port", type=int, default=None, help=f"endpoint port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="apply to an endpoint already running (e.g. LocalStack) instead of starting the embedded one",
    )
    parser.add_argument(
        "--prefix", default=DEFAULT_NAME_PREFIX, help=f"name prefix of every resource (default {DEFAULT_NAME_PREFIX})"
    )
    parser.add_argument(
        "--plugin-dir",
        type=Path,
        metavar="DIR",
        help="offline provider mirror for terraform init (-plugin-dir); TF_CLI_CONFIG_FILE is honoured too",
    )
    parser.add_argument("--no-watch", action="store_true", help="serve the stack without watching for changes")
    debug_options.add_arguments(parser, names="folders under functions/", all_allowed=True)
    parser.add_argument(
        "--check", action="store_true", help="only say what is missing (terraform, runtimes' interpreters), in one line"
    )
    parser.set_defaults(run=_run)
