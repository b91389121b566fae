"""Run a built function's zip locally the way AWS Lambda runs it: no Docker, Lambda's own runtime client."""

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing: `build.py invoke` imports this package
if TYPE_CHECKING:  # what the type checker sees; at run time __getattr__ below imports on first use
    from lambdafleet.runtime.pool import FunctionPool as FunctionPool
    from lambdafleet.runtime.pool import PayloadTooLargeError as PayloadTooLargeError
    from lambdafleet.runtime.result import InvokeResult as InvokeResult
    from lambdafleet.runtime.spec import FunctionSpec as FunctionSpec

# Loaded on first use (PEP 562): build.py imports a submodule of this package for its `invoke` command on
# every run, and a no-op build must not pay for the pool's machinery.
_EXPORTS = {
    "FunctionPool": "lambdafleet.runtime.pool",
    "PayloadTooLargeError": "lambdafleet.runtime.pool",
    "InvokeResult": "lambdafleet.runtime.result",
    "FunctionSpec": "lambdafleet.runtime.spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
