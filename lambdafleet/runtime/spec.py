"""The part of a function's configuration that shapes its execution environment."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lambdafleet.build.config import FunctionConfig


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

    @property
    def log_group_name(self) -> str:
        """The CloudWatch Logs group the function writes to."""
        return self.log_group or f"/aws/lambda/{self.name}"

    @classmethod
    def from_manifest(cls, entry: Mapping[str, Any]) -> "FunctionSpec":
        """Take the runtime-relevant keys of a manifest "functions" entry."""
        keys = cls.__dataclass_fields__.keys()
        return cls(**{key: entry[key] for key in keys if entry.get(key) is not None})
