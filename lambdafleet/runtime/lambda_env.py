"""The exact set of environment variables Lambda gives a Python function's process."""

import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from lambdafleet.runtime.spec import FunctionSpec

# Lambda's own value after /var/lang/bin (the runtime's interpreter, put first by the caller); the interpreter is
# started by absolute path, so PATH only matters to subprocesses the function starts.
_PATH = "/usr/local/bin:/usr/bin/:/bin"
PLACEHOLDER_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIALAMBDAFLEETLOCAL",
    "AWS_SECRET_ACCESS_KEY": "lambdafleet-local-placeholder-secret",
    "AWS_SESSION_TOKEN": "lambdafleet-local-placeholder-token",
}


def lambda_environment(
    spec: FunctionSpec,
    *,
    task_root: Path,
    runtime_dir: Path,
    opt_dir: Path,
    api_address: str,
    region: str,
    credentials: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    interpreter_bin: Path | None = None,
) -> dict[str, str]:
    """Variables for one execution environment: the function's configured ones, what the caller passes
    explicitly in `extra` (e.g. an endpoint override), then Lambda's reserved ones, which win.

    `interpreter_bin` holds `python`, `python3` and `python3.X` for the function's interpreter: first on PATH,
    as Lambda's /var/lang/bin is. Each call names a new log stream: one per execution environment.
    """
    version = spec.runtime.removeprefix("python")
    reserved = {
        "_HANDLER": spec.handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(spec.version),
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "LANG": "en_US.UTF-8",
        # /opt/bin and /opt/lib are the layers' (opt_dir: /opt inside the sandbox, its host path outside).
        "PATH": f"{interpreter_bin}:{_PATH}:{opt_dir}/bin" if interpreter_bin else f"{_PATH}:{opt_dir}/bin",
        "LD_LIBRARY_PATH": f"{runtime_dir}:{runtime_dir}/lib:{task_root}:{task_root}/lib:{opt_dir}/lib",
        "PYTHONPATH": str(runtime_dir),
        "TZ": ":UTC",
        **(credentials or PLACEHOLDER_CREDENTIALS),
    }
    if spec.logging_format == "JSON":
        # Lambda's default application log level once JSON logging is on.
        reserved |= {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    return {**spec.environment, **(extra or {}), **reserved}


def log_stream_name(version: str) -> str:
    """A new log stream name in Lambda's form, `YYYY/MM/DD/[version]<32 hex digits>`."""
    return time.strftime(f"%Y/%m/%d/[{version}]", time.gmtime()) + uuid.uuid4().hex
