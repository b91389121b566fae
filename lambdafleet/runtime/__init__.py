"""Run a built function's zip locally the way AWS Lambda runs it: no Docker, Lambda's own runtime client."""

from lambdafleet.runtime.pool import FunctionPool, PayloadTooLargeError
from lambdafleet.runtime.result import InvokeResult
from lambdafleet.runtime.spec import FunctionSpec

__all__ = ["FunctionPool", "FunctionSpec", "InvokeResult", "PayloadTooLargeError"]
