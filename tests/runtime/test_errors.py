"""Errors as Lambda's own Python runtime reports them, from handler exceptions to broken packages."""

from tests.runtime.conftest import SANDBOX_MISSING

RAISES = """
    def lambda_handler(event, context):
        raise KeyError("missing " + event["what"])
"""


def test_exception_payload_and_log(make_pool):
    result = make_pool(RAISES).invoke({"what": "thing"})
    assert result.function_error and result.status == "error"
    error = result.error
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing thing'"
    assert error["requestId"] == result.request_id
    assert "lambda_function.py" in error["stackTrace"][0] and "lambda_handler" in error["stackTrace"][0]
    assert "[ERROR] KeyError: 'missing thing'\rTraceback (most recent call last):" in result.logs


def test_environment_survives_a_handler_exception(make_pool):
    pool = make_pool(RAISES)
    pool.invoke({"what": "a"})
    pool.invoke({"what": "b"})
    assert pool.environments == 1


def test_missing_dependency_is_an_import_module_error(make_pool):
    result = make_pool("import requests_oauthlib_not_here\n\ndef lambda_handler(e, c):\n    return 1\n").invoke({})
    assert result.error == {
        "errorMessage": "Unable to import module 'lambda_function': No module named 'requests_oauthlib_not_here'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }


def test_developer_packages_are_not_importable(make_pool):
    """pytest is in the venv running these tests, not in the zip: Lambda would not have it either."""
    result = make_pool("import pytest\n\ndef lambda_handler(e, c):\n    return 1\n").invoke({})
    assert result.error["errorType"] == "Runtime.ImportModuleError"


def test_runtime_boto3_is_importable(make_pool):
    source = "import boto3\n\ndef lambda_handler(e, c):\n    return [boto3.__version__, boto3.__file__]\n"
    version, location = make_pool(source).invoke({}).response
    assert version == "1.44.8"
    if SANDBOX_MISSING is None:
        assert location == "/var/runtime/boto3/__init__.py"  # where Lambda has it, wherever the cache is


def test_packages_in_the_zip_shadow_the_runtime_ones(make_pool):
    source = {
        "lambda_function.py": "import boto3\n\ndef lambda_handler(e, c):\n    return boto3.__version__\n",
        "boto3/__init__.py": "__version__ = 'bundled in the zip'\n",
    }
    assert make_pool(source).invoke({}).response == "bundled in the zip"


def test_handler_not_found(make_pool):
    result = make_pool("def handler(e, c):\n    return 1\n").invoke({})
    assert result.error["errorType"] == "Runtime.HandlerNotFound"
    assert result.error["errorMessage"] == "Handler 'lambda_handler' missing on module 'lambda_function'"


def test_syntax_error(make_pool):
    result = make_pool("def lambda_handler(e, c)\n    return 1\n").invoke({})
    assert result.error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert result.error["errorMessage"].startswith("Syntax error in module 'lambda_function'")


def test_unserialisable_return_is_a_marshal_error(make_pool):
    result = make_pool("def lambda_handler(e, c):\n    return {1, 2}\n").invoke({})
    assert result.error["errorType"] == "Runtime.MarshalError"
    assert "Unable to marshal response" in result.error["errorMessage"]


def test_a_failed_init_is_retried_by_the_next_invocation(make_pool):
    pool = make_pool("import nope\n")
    assert pool.invoke({}).error["errorType"] == "Runtime.ImportModuleError"
    second = pool.invoke({})
    assert second.error["errorType"] == "Runtime.ImportModuleError"
    assert second.init_duration_ms is not None
