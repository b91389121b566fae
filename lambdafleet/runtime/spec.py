"""The part of a function's configuration that shapes its execution environment."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda needs to know to run a function; defaults are Lambda's (and the manifest's)."""

    name: str
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    handler: str = "lambda_function.lambda_handler"
    memory_size: int = 128
    timeout: float = 3
    ephemeral_storage: int = 512
    environment: Mapping[str, str] = field(default_factory=dict)
    logging_format: str = "Text"

    @classmethod
    def from_manifest(cls, entry: Mapping[str, Any]) -> "FunctionSpec":
        """Take the runtime-relevant keys of a manifest "functions" entry."""
        keys = cls.__dataclass_fields__.keys()
        return cls(**{key: entry[key] for key in keys if entry.get(key) is not None})
