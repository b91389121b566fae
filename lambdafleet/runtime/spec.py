"""The part of a function's configuration that shapes its execution environment."""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from lambdafleet.build.config import FunctionConfig


@dataclass(frozen=True)
class StartFailure:
    """What an image's entrypoint does instead of starting the runtime interface client.

    With `exit_code`, it prints `message` on stderr and exits (the base image's /lambda-entrypoint.sh without
    exactly one argument): the invocation ends as Runtime.ExitError. Without, Lambda could not start it at all and
    fails the init phase with `error_type` (Runtime.InvalidEntrypoint) and `message` in its own words.
    """

    message: str
    error_type: str = ""
    exit_code: int | None = None

    def argument(self) -> str:
        """As bootstrap.py takes it (JSON)."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda needs to know to run a function, wherever that configuration came from (a manifest,
    or what the local endpoint's Lambda API holds); defaults are function.toml's."""

    name: str
    runtime: str = FunctionConfig.runtime
    architecture: str = FunctionConfig.architecture
    handler: str = FunctionConfig.handler
    memory_size: int = FunctionConfig.memory_size
    timeout: float = FunctionConfig.timeout
    ephemeral_storage: int = FunctionConfig.ephemeral_storage
    environment: Mapping[str, str] = field(default_factory=dict)
    logging_format: str = FunctionConfig.logging_format
    version: str = "$LATEST"  # the published version these environments run ("1", "2"...)
    log_group: str = ""  # LoggingConfig.LogGroup; empty: Lambda's default, /aws/lambda/<name>
    working_directory: str = ""  # an image function's WORKDIR (ImageConfig.WorkingDirectory); empty: the task root
    start_failure: StartFailure | None = None  # an image function whose entrypoint cannot start the runtime

    @property
    def log_group_name(self) -> str:
        """The CloudWatch Logs group the function writes to."""
        return self.log_group or f"/aws/lambda/{self.name}"

    @classmethod
    def from_manifest(cls, entry: Mapping[str, Any]) -> "FunctionSpec":
        """Take the runtime-relevant keys of a manifest "functions" entry."""
        keys = cls.__dataclass_fields__.keys()
        return cls(**{key: entry[key] for key in keys if entry.get(key) is not None})
