"""Every change this project makes to moto's internals, in one registry.

moto answers some calls of the AWS provider on this project's Terraform otherwise than AWS does, lacks a few, and
would run Lambda functions in Docker. Each patch below is a function declared with ``@patch``, which states the AWS
behaviour it restores; :func:`apply_all` installs them, once per process, so the emulator and in-process tests see
the same service. The patches replace private parts of moto, which any release may rename or change: apply_all
first checks that the installed moto is MOTO_VERSION, the one they were written and tested against, and every
replacement checks that its target is still there.

Control-plane patches (the API's answers) are always installed. Data-plane patches (Invoke, S3 notifications,
Step Functions executions) hand moto's call to the local data plane, so apply_all installs them only once it is
given one (:class:`DataPlane`, built by lambdafleet.endpoint.app).

A new patch: a function here, decorated with ``@patch(restores=...)``, that changes moto only through
:func:`_replace` or :func:`_add`. A patch for a plain moto bug names its upstreamable reproduction
(tests/endpoint/moto_bugs/).
"""

import contextvars
import functools
import importlib.metadata
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import EventSourceMapping, ImageConfig, LambdaBackend, LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.awslambda.utils import make_function_arn
from moto.core import responses as core_responses
from moto.core.config import default_user_config
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.core.utils import method_names_from_class, unix_time
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.events.models import Rule
from moto.kinesis.responses import KinesisResponse
from moto.s3 import notifications
from moto.s3.utils import _VersionedKeyStore
from moto.sns.models import Subscription
from moto.sqs.models import Message, Queue, SQSBackend, sqs_backends
from moto.stepfunctions.parser import api as stepfunctions_api
from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException
from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import ExpressStaticAnalyser
from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from lambdafleet.endpoint import eventbridge, s3_events, sns, step_functions

# The moto release the patches were written for and tested with: requirements-dev.txt pins the same one
# (tests/endpoint/test_moto_patches.py checks that). Moving to another: run the tests with it, fix what breaks,
# then change both.
MOTO_VERSION = "5.2.5"

Installer = Callable[[], None]


@dataclass(frozen=True)
class Patch:
    """One change to moto and the AWS behaviour it restores."""

    name: str
    restores: str
    install: Installer
    data_plane: bool  # hands moto's call to the local data plane: installed only once there is one
    reproduction: str | None  # for a plain moto bug: the test that shows it on unpatched moto


PATCHES: list[Patch] = []


def patch(
    restores: str, *, data_plane: bool = False, reproduction: str | None = None
) -> Callable[[Installer], Installer]:
    """Declare the decorated function as a patch of moto that restores the AWS behaviour `restores`."""

    def declare(install: Installer) -> Installer:
        PATCHES.append(Patch(install.__name__.lstrip("_"), restores, install, data_plane, reproduction))
        return install

    return declare


@dataclass(frozen=True)
class DataPlane:
    """Where the data-plane patches send moto's calls (lambdafleet.endpoint.app builds it)."""

    # moto's LambdaFunction.invoke(body, request_headers, response_headers): run it, return the response body.
    invoke: Callable[[LambdaFunction, Any, Any, Any], bytes]
    invoke_async: Callable[[LambdaFunction, bytes], str]  # queue an Event invocation; returns its request id
    discard: Callable[[str], None]  # stop the environments of a deleted function (ARN; unqualified: all versions)
    endpoint_url: Callable[[], str]  # the endpoint the Step Functions interpreter's service calls go to


_mutex = threading.Lock()
_installed: set[str] = set()
_plane: DataPlane | None = None


def apply_all(plane: DataPlane | None = None) -> None:
    """Install every control-plane patch, and with `plane` every data-plane patch, routed to it; safe to repeat.

    Raises RuntimeError when the installed moto is not MOTO_VERSION, or a patched part of moto is gone.
    """
    global _plane
    with _mutex:
        check_moto_version(importlib.metadata.version("moto"))
        _plane = plane or _plane
        for entry in PATCHES:
            if entry.name not in _installed and (_plane is not None or not entry.data_plane):
                entry.install()
                _installed.add(entry.name)


def check_moto_version(installed: str) -> None:
    """Refuse a moto the patches were not written for: they replace its private parts."""
    if installed != MOTO_VERSION:
        raise RuntimeError(
            f"lambdafleet's moto patches were written for moto {MOTO_VERSION}, but moto {installed} is installed: "
            "install the pinned one (pip install --require-hashes -r requirements-dev.txt), or, to move to "
            f"{installed}, check every patch in lambdafleet/endpoint/moto_patches.py against it and update "
            "MOTO_VERSION there and the pin in requirements-dev.in/.txt"
        )


def _replace(owner: object, name: str, replacement: object) -> None:
    """Set `owner.name`, which moto must define."""
    if not hasattr(owner, name):
        raise RuntimeError(f"moto {MOTO_VERSION} patch: {_label(owner)}.{name} no longer exists in the installed moto")
    setattr(owner, name, replacement)


def _add(owner: object, name: str, addition: object) -> None:
    """Set `owner.name`, which moto must lack (once moto has it, the patch is to go)."""
    if name in vars(owner):
        raise RuntimeError(f"moto {MOTO_VERSION} patch: moto now defines {_label(owner)}.{name}; drop the patch")
    setattr(owner, name, addition)


def _label(owner: object) -> str:
    return getattr(owner, "__qualname__", None) or getattr(owner, "__name__", None) or type(owner).__name__


def _data_plane() -> DataPlane:
    if _plane is None:
        raise RuntimeError("a data-plane patch ran before apply_all() was given the data plane")
    return _plane


# --- Every service --------------------------------------------------------------------------------------------------


@patch(
    "Requests are dispatched without listing the response class's methods each time (moto runs inspect.getmembers "
    "on every request: ~6 % of a warm Invoke's endpoint CPU); the list is the class's, read once"
)
def _dispatch_lists_methods_once() -> None:
    # A response class's methods are fixed once the patches are installed, and apply_all runs before any request.
    _replace(core_responses, "method_names_from_class", functools.cache(method_names_from_class))


# --- Step Functions control plane ---------------------------------------------------------------------------------


def check_state_machine_definition(definition: str, machine_type: str = "STANDARD") -> list[dict[str, str]]:
    """Return Step Functions diagnostics for an Amazon States Language definition; empty when it is valid.

    Uses moto's own ASL grammar and static analysers (those CreateStateMachine runs in moto's execution mode),
    plus the transition-target check AWS makes and the grammar does not.
    """
    analyser = ExpressStaticAnalyser() if machine_type == "EXPRESS" else StaticAnalyser()
    try:
        document = json.loads(definition)
        analyser.analyse(definition)
    except json.JSONDecodeError as error:
        return [_diagnostic("INVALID_JSON_DESCRIPTION", f"definition is not JSON: {error}")]
    except ASLParserException as error:
        return [_diagnostic("SCHEMA_VALIDATION_FAILED", message) for message in error.errors or [repr(error)]]
    except Exception as error:  # the analysers raise plain exceptions for semantic faults
        return [_diagnostic("SCHEMA_VALIDATION_FAILED", f"{type(error).__name__}: {error}")]
    return [_diagnostic("MISSING_TRANSITION_TARGET", message) for message in _missing_targets(document)]


def _diagnostic(code: str, message: str) -> dict[str, str]:
    return {"severity": "ERROR", "code": code, "message": message}


def _missing_targets(machine: dict[str, Any]) -> Iterator[str]:
    """Transitions naming a state that does not exist, in this machine and its nested branches."""
    states = machine.get("States", {})
    targets = [("StartAt", machine.get("StartAt"))]
    for name, state in states.items():
        targets += [(f"{name}.Next", state.get("Next")), (f"{name}.Default", state.get("Default"))]
        targets += [(f"{name}.Choices.Next", choice.get("Next")) for choice in state.get("Choices", [])]
        targets += [(f"{name}.Catch.Next", catcher.get("Next")) for catcher in state.get("Catch", [])]
        for branch in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator")]:
            if branch:
                yield from _missing_targets(branch)
    for field, target in targets:
        if target is not None and target not in states:
            yield f"{field} names state {target!r}, which is not defined"


@patch("ValidateStateMachineDefinition reports an invalid definition's diagnostics (moto lacks the action)")
def _validate_state_machine_definition() -> None:
    def respond(self: StepFunctionResponse) -> ActionResult:
        definition, machine_type = self._get_param("definition") or "", self._get_param("type") or "STANDARD"
        diagnostics = check_state_machine_definition(definition, machine_type)
        return ActionResult({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False})

    # moto dispatches a JSON-protocol action to the response method of the same snake_case name.
    _add(StepFunctionResponse, "validate_state_machine_definition", respond)


@patch("ListStateMachineVersions lists a machine's published versions, newest first (moto lacks the action)")
def _list_state_machine_versions() -> None:
    def respond(self: StepFunctionResponse) -> ActionResult:
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        newest_first = sorted(machine.versions.items(), reverse=True)
        versions = [
            {"stateMachineVersionArn": version.arn, "creationDate": version.creation_date}
            for _, version in newest_first
        ]
        return ActionResult({"stateMachineVersions": versions})

    _add(StepFunctionResponse, "list_state_machine_versions", respond)


# --- Lambda control plane -----------------------------------------------------------------------------------------

_LOGGING_CONFIG = "logging_config"  # the attribute the patch below keeps a function's LoggingConfig in


def logging_config(function: LambdaFunction) -> dict[str, str]:
    """The function's LoggingConfig as Lambda reports it ({} before apply_all)."""
    config: dict[str, str] = getattr(function, _LOGGING_CONFIG, None) or {}
    return config


def _reported_logging_config(requested: dict[str, str] | None, function_name: str) -> dict[str, str]:
    """LoggingConfig as Lambda reports it: the defaults AWS fills in for what the request left out."""
    config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(requested or {})}
    if config["LogFormat"] == "JSON":
        config = {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", **config}
    return config


@patch(
    "Lambda stores a function's LoggingConfig and reports it with AWS's defaults (moto drops it, so every "
    "terraform plan shows a change)",
    reproduction="tests/endpoint/moto_bugs/lambda_logging_config.py",
)
def _lambda_keeps_its_logging_config() -> None:
    create, configure, report = (
        LambdaFunction.__init__,
        LambdaFunction.update_configuration,
        LambdaFunction.get_configuration,
    )

    def __init__(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        create(self, account_id, spec, *args, **kwargs)
        setattr(self, _LOGGING_CONFIG, _reported_logging_config(spec.get("LoggingConfig"), self.function_name))

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            reported = _reported_logging_config(config_updates["LoggingConfig"], self.function_name)
            setattr(self, _LOGGING_CONFIG, reported)
        return configure(self, config_updates)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**report(self, *args, **kwargs), "LoggingConfig": logging_config(self)}

    _replace(LambdaFunction, "__init__", __init__)
    _replace(LambdaFunction, "update_configuration", update_configuration)
    _replace(LambdaFunction, "get_configuration", get_configuration)


def _without_empty_image_config(config: dict[str, Any]) -> dict[str, Any]:
    """Lambda reports only the image settings that override the image's own; moto reports empty ones too."""
    image_config = config.get("ImageConfigResponse", {}).get("ImageConfig", {})
    overrides = {key: value for key, value in image_config.items() if value}
    config = {key: value for key, value in config.items() if key != "ImageConfigResponse"}
    return {**config, "ImageConfigResponse": {"ImageConfig": overrides}} if overrides else config


@patch("Lambda leaves out ImageConfigResponse when no image setting is overridden (moto reports empty ones)")
def _lambda_hides_empty_image_config() -> None:
    report = LambdaFunction.get_configuration

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return _without_empty_image_config(report(self, *args, **kwargs))

    _replace(LambdaFunction, "get_configuration", get_configuration)


@patch(
    "UpdateFunctionConfiguration replaces an image function's ImageConfig: a setting it leaves out is no longer "
    "overridden, {} removes them all (moto ignores ImageConfig there, so a changed image_config never applied)",
    reproduction="tests/endpoint/moto_bugs/lambda_image_config_update.py",
)
def _lambda_updates_image_config() -> None:
    configure = LambdaFunction.update_configuration

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "ImageConfig" in config_updates:
            # A new object, not a change of moto's: a published version (a shallow copy) keeps its own.
            self.image_config = ImageConfig(config_updates["ImageConfig"] or {})
        return configure(self, config_updates)

    _replace(LambdaFunction, "update_configuration", update_configuration)


# How long a new function stays Pending, and an update InProgress: long enough that a call made without waiting
# (function_active_v2 / function_updated_v2, or Terraform's own waits) fails as it can on AWS, short enough
# that those waiters (boto3 polls every second, Terraform from 0.1 s doubling) barely notice.
FUNCTION_SETTLE_S = 0.5
_SETTLES_AT = "_lambdafleet_settles_at"  # time.monotonic() when the create or update in flight completes
_CREATING = "_lambdafleet_creating"  # that is the function's creation (State Pending), not an update
_IN_FLIGHT_REASON = {"Reason": "The function is being created.", "ReasonCode": "Creating"}


class FunctionStateConflict(LambdaClientError):
    """Lambda's 409 for an operation on a function that is still Pending or being updated."""

    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ResourceConflictException", message)


def _in_flight(function: LambdaFunction) -> bool:
    return time.monotonic() < float(getattr(function, _SETTLES_AT, 0.0))


def _pending(function: LambdaFunction) -> bool:
    return _in_flight(function) and bool(getattr(function, _CREATING, False))


def _start(function: LambdaFunction, *, creating: bool) -> None:
    setattr(function, _SETTLES_AT, time.monotonic() + FUNCTION_SETTLE_S)
    setattr(function, _CREATING, creating)


def _state_fields(function: LambdaFunction, config: dict[str, Any]) -> dict[str, Any]:
    """`config` with the State and LastUpdateStatus fields Lambda reports while a create or update is in flight."""
    if not _in_flight(function):
        return config
    reason = _IN_FLIGHT_REASON
    if getattr(function, _CREATING, False):
        config = {key: value for key, value in config.items() if key != "LastUpdateStatus"}
        return {**config, "State": "Pending", "StateReason": reason["Reason"], "StateReasonCode": reason["ReasonCode"]}
    return {
        **config,
        "LastUpdateStatus": "InProgress",
        "LastUpdateStatusReason": reason["Reason"],
        "LastUpdateStatusReasonCode": reason["ReasonCode"],
    }


def _refuse_while_in_flight(backend: LambdaBackend, name: str, qualifier: str | None = None) -> None:
    function = backend.get_function(name, qualifier)
    if _in_flight(function):
        raise FunctionStateConflict(
            f"The operation cannot be performed at this time. An update is in progress for resource: "
            f"{function.function_arn}"
        )


Update = Callable[[LambdaBackend, str, str, dict[str, Any]], dict[str, Any] | None]


@patch(
    "A new function is Pending (StateReasonCode Creating), Active FUNCTION_SETTLE_S later; UpdateFunctionCode and "
    "UpdateFunctionConfiguration answer LastUpdateStatus InProgress, Successful as long after; meanwhile Invoke of a "
    "Pending function, another update and PublishVersion answer 409 ResourceConflictException (moto is Active at "
    "once, so code that forgets the function_active_v2 / function_updated_v2 waiters passed locally)"
)
def _lambda_function_states() -> None:
    create, publish, invoke = LambdaBackend.create_function, LambdaBackend.publish_version, LambdaBackend.invoke
    report = LambdaFunction.get_configuration

    def create_function(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
        function = create(self, spec)  # with Publish, version 1 is copied before: it is Active already
        _start(function, creating=True)
        return function

    def updating(update: Update) -> Update:
        def run(self: LambdaBackend, name: str, qualifier: str, body: dict[str, Any]) -> dict[str, Any] | None:
            _refuse_while_in_flight(self, name, qualifier)
            answer = update(self, name, qualifier, body)  # with Publish, it publishes before the update starts
            function = self.get_function(name, qualifier)
            _start(function, creating=False)
            return _state_fields(function, answer) if answer is not None else None

        return run

    def publish_version(self: LambdaBackend, function_name: str, description: str = "") -> LambdaFunction | None:
        _refuse_while_in_flight(self, function_name)
        return publish(self, function_name, description)

    def invoke_function(self: LambdaBackend, function_name: str, qualifier: str | None, *args: Any) -> Any:
        if _pending(self.get_function(function_name, qualifier)):
            raise FunctionStateConflict(
                "The operation cannot be performed at this time. The function is currently in the following "
                "state: Pending"
            )
        return invoke(self, function_name, qualifier, *args)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return _state_fields(self, report(self, *args, **kwargs))

    _replace(LambdaBackend, "create_function", create_function)
    _replace(LambdaBackend, "update_function_code", updating(LambdaBackend.update_function_code))
    _replace(LambdaBackend, "update_function_configuration", updating(LambdaBackend.update_function_configuration))
    _replace(LambdaBackend, "publish_version", publish_version)
    _replace(LambdaBackend, "invoke", invoke_function)
    _replace(LambdaFunction, "get_configuration", get_configuration)


@patch(
    "GetFunction reports a reserved concurrency of 0 (Concurrency.ReservedConcurrentExecutions; moto leaves a 0 out, "
    "so Terraform re-plans reserved_concurrent_executions = 0 for ever), and GetFunctionConcurrency of a function "
    "with none reserved answers without ReservedConcurrentExecutions, as Lambda does (moto answers null)"
)
def _lambda_reports_reserved_concurrency() -> None:
    report = LambdaFunction.get_code

    def get_code(self: LambdaFunction) -> dict[str, Any]:
        answer = report(self)
        reserved = getattr(self, "reserved_concurrency", None)
        if reserved is not None:
            answer["Concurrency"] = {"ReservedConcurrentExecutions": int(reserved)}
        return answer

    def get_function_concurrency(self: LambdaResponse) -> tuple[int, dict[str, str], str]:
        name = unquote(self.path.rsplit("/", 2)[-2])
        reserved = self.backend.get_function_concurrency(name)  # raises ResourceNotFoundException
        return 200, {}, json.dumps({} if reserved is None else {"ReservedConcurrentExecutions": int(reserved)})

    _replace(LambdaFunction, "get_code", get_code)
    _replace(LambdaResponse, "get_function_concurrency", get_function_concurrency)


# --- S3 control plane ---------------------------------------------------------------------------------------------


@patch(
    "An S3 listing that races a DeleteObject finishes, showing the bucket as it was when the listing began "
    "(moto answers 500: terraform destroy empties a bucket with parallel deletes while it lists versions)",
    reproduction="tests/endpoint/moto_bugs/s3_listing_race.py",
)
def _s3_listings_survive_concurrent_deletes() -> None:
    # moto copies a bucket's key table, then looks every name up again in the live table, where a key deleted in
    # between is gone (KeyError). Reading the versions from the copy keeps the snapshot consistent.
    def lists(self: _VersionedKeyStore) -> Iterator[tuple[str, list[Any]]]:
        for key, versions in self._self_iterable().items():
            if versions:
                yield key, versions

    def items(self: _VersionedKeyStore) -> Iterator[tuple[str, Any]]:
        for key, versions in lists(self):
            yield key, versions[-1]

    def values(self: _VersionedKeyStore) -> Iterator[Any]:
        for _, latest in items(self):
            yield latest

    # moto binds each of these under several names; replace them all.
    for name in ("lists", "iterlists", "_iterlists"):
        _replace(_VersionedKeyStore, name, lists)
    for name in ("items", "iteritems", "_iteritems"):
        _replace(_VersionedKeyStore, name, items)
    for name in ("values", "itervalues", "_itervalues"):
        _replace(_VersionedKeyStore, name, values)


@patch(
    "A bucket policy's statements apply to the principals they name, with their conditions (moto applies every "
    "statement to every caller and fails any Condition, so a Deny naming one role, or the TLS-only Deny, refused the "
    "developer's own keys too)"
)
def _bucket_policies_apply_to_their_principals() -> None:
    # The developer's requests are the account's: statements naming everyone or the account apply to them.
    # Function roles are checked in full by lambdafleet.endpoint.iam_enforcement.
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    from lambdafleet.endpoint import iam_policy

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = iam_policy.parse(f"bucket policy of {self.name}", self.policy.decode())
        account = iam_policy.Principal("", "", self.account_id, {"aws:securetransport": ["true"]})
        verdict = iam_policy.evaluate(action, resource, account, [], document)
        if verdict.reason.startswith("explicit"):
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if verdict.allowed else PermissionResult.NEUTRAL

    _replace(FakeBucket, "get_permission", get_permission)


# --- Lambda data plane --------------------------------------------------------------------------------------------


@patch(
    "Invoke runs the function's stored code on the local runtime (moto would start a Docker container)", data_plane=True
)
def _lambda_invokes_run_locally() -> None:
    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return _data_plane().invoke(self, body, request_headers, response_headers)

    # Every path into a function (the Invoke API, InvokeAsync, moto's service integrations) calls this method.
    _replace(LambdaFunction, "invoke", invoke)


@patch(
    "DeleteFunction stops the function's warm execution environments (all versions when unqualified)", data_plane=True
)
def _deleted_functions_stop() -> None:
    delete_function = LambdaBackend.delete_function

    def delete(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
        function = self.get_function(function_name, qualifier)
        delete_function(self, function_name, qualifier)
        unqualified = make_function_arn(self.region_name, self.account_id, function.function_name)
        _data_plane().discard(function.function_arn if qualifier else unqualified)

    _replace(LambdaBackend, "delete_function", delete)


# The version or alias the client named in the Invoke call being answered: moto resolves an alias to its version's
# function object, and Lambda hands the runtime the ARN as invoked (lambdafleet.endpoint.lambda_invoke reads it).
INVOKED_QUALIFIER: contextvars.ContextVar[str | None] = contextvars.ContextVar("invoked_qualifier", default=None)
# Set by the data plane on an Invoke answer: the invocation's request id, which moto would replace with a random one.
REQUEST_ID_HEADER = "x-lambdafleet-request-id"


def qualifier_of(function_name: str, query: str | None) -> str | None:
    """The qualifier of an Invoke path's function name (`name:alias`, or an ARN with one), else of the query."""
    parts = function_name.split(":")
    if function_name.startswith("arn:"):
        return parts[7] if len(parts) > 7 else query
    return parts[1] if len(parts) == 2 else query  # name:qualifier; a partial ARN has no qualifier here


@patch(
    "Invoke honours ?Qualifier= (moto reads `qualifier`, and without it falls through to a key of the payload), and "
    "the function sees the ARN as invoked (qualified with the alias or version named, as Lambda passes it on)",
    data_plane=True,
)
def _invoke_reads_the_qualifier() -> None:
    respond = LambdaResponse.invoke

    def invoke(self: LambdaResponse) -> Any:
        query = (self.querystring.get("Qualifier") or [None])[0]
        self.querystring["qualifier"] = [query]
        token = INVOKED_QUALIFIER.set(qualifier_of(unquote(self.path.rsplit("/", 2)[-2]), query))
        try:
            return respond(self)
        finally:
            INVOKED_QUALIFIER.reset(token)

    _replace(LambdaResponse, "invoke", invoke)


@patch(
    "An invocation's x-amzn-RequestId is its request id: the function's context.aws_request_id, and for an Event "
    "invocation every attempt's and the destination record's (moto answers with a random one)",
    data_plane=True,
)
def _invocations_answer_with_their_request_id() -> None:
    enrich = LambdaResponse._enrich_response

    def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        request_id = headers.pop(REQUEST_ID_HEADER, None)
        headers, body = enrich(headers, body)
        if request_id:
            headers["x-amzn-requestid"] = request_id
        return headers, body

    _replace(LambdaResponse, "_enrich_response", staticmethod(enrich_response))


# --- S3 data plane ------------------------------------------------------------------------------------------------


@patch(
    "An S3 event notification invokes its function asynchronously, with S3's full event record (moto invokes "
    "synchronously inside the PutObject request)",
    data_plane=True,
)
def _s3_notifications_invoke_asynchronously() -> None:
    def invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        s3_events.deliver(account_id, event_body, fn_arn, region_name, _data_plane().invoke_async)

    _replace(notifications, "_invoke_awslambda", invoke_awslambda)


# --- Step Functions data plane ------------------------------------------------------------------------------------


@patch(
    "StartExecution runs the state machine, its Lambda tasks calling this endpoint (moto only records executions)",
    data_plane=True,
)
def _state_machines_execute() -> None:
    # moto keeps the machines of its executing backend apart from its default one's: this is installed before
    # the endpoint serves its first CreateStateMachine.
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    # The interpreter's clients call http://localhost:{moto_server_port()} (5000 unless MOTO_PORT says otherwise);
    # answering with this endpoint's port keeps the setting in this process, out of the functions' environment.
    _replace(boto_client, "moto_server_port", lambda: str(urlsplit(_data_plane().endpoint_url()).port))
    # It logs a state's failure with a repr of the whole state: the execution's history already says what failed,
    # and the function's own failure is logged by the fleet.
    logging.getLogger(step_functions.FAILURE_LOGGER).setLevel(logging.CRITICAL)


StartExecution = Callable[..., Execution]


@patch(
    'StartExecution names an unnamed execution with a UUID (moto\'s interpreter names it "None" and takes a second '
    "unnamed start with the same input for a retry of the first)",
    data_plane=True,
)
def _unnamed_executions_get_a_uuid() -> None:
    start: StartExecution = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: StepFunctionsParserBackend, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Execution:
        return start(self, state_machine_arn, step_functions.execution_name(self, name), *args, **kwargs)

    _replace(StepFunctionsParserBackend, "start_execution", start_execution)


@patch("StartSyncExecution runs an express state machine to its end and answers with the outcome", data_plane=True)
def _start_sync_execution() -> None:
    _add(StepFunctionResponse, "start_sync_execution", step_functions.start_sync_execution)


@patch(
    "The interpreter's errors (InvalidDefinition, InvalidExecutionInput, ...) answer with their AWS error code "
    "(they carry it as `code`; moto's AWSError reads `TYPE` and would answer with an empty one)",
    data_plane=True,
)
def _interpreter_errors_have_their_codes() -> None:
    for error in vars(stepfunctions_api).values():
        if isinstance(error, type) and issubclass(error, AWSError) and isinstance(error.__dict__.get("code"), str):
            _replace(error, "TYPE", error.__dict__["code"])


# --- SQS, DynamoDB, Kinesis control plane (event sources) ---------------------------------------------------------


@patch(
    "ReceiveQueueAttributes reports RedrivePolicy in AWS's compact JSON (moto's spacing made every plan show a "
    "change), and DeleteMessage running beside SendMessage on one queue loses no message (moto rebuilt the message "
    "list outside the lock SendMessage appends under, so a message sent meanwhile vanished)"
)
def _sqs_as_aws_does() -> None:
    attributes = Queue.attributes.fget  # type: ignore[attr-defined]  # a property
    delete = Queue.delete_message

    def reported(self: Queue) -> dict[str, Any]:
        result: dict[str, Any] = attributes(self)
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    def delete_message(self: Queue, receipt_handle: str) -> None:
        with self._messages_lock:
            delete(self, receipt_handle)

    _replace(Queue, "attributes", property(reported))
    _replace(Queue, "delete_message", delete_message)


@patch(
    "ReceiveMessage costs in proportion to the messages it returns, not to the queue's backlog (moto rebuilt every "
    "queue attribute, counting all messages, for each message received, to read the retention period: receiving a "
    "1,000-message backlog cost a million message scans)"
)
def _sqs_receive_reads_the_retention_period_directly() -> None:
    def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
        retention_s = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return retention_s + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]

    _replace(SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)


@patch(
    "A Scan racing a write finishes, as AWS's does (moto iterated the live item dict and answered 500: "
    "'dictionary changed size during iteration')"
)
def _dynamodb_scans_survive_concurrent_writes() -> None:
    def all_items(self: Table) -> list[Any]:
        items: list[Any] = []
        for hash_set in list(self.items.values()):  # a copy of the values, atomic under the GIL
            items.extend(list(hash_set.values()) if self.range_key_attr else [hash_set])
        return sorted(items, key=lambda item: (item.hash_key, item.range_key) if item.range_key else item.hash_key)

    _replace(Table, "all_items", all_items)


@patch("CreateStream stores its Tags, as AWS does (moto dropped them, so every plan re-added the provider's tags)")
def _kinesis_create_stream_keeps_tags() -> None:
    create = KinesisResponse.create_stream

    def create_stream(self: KinesisResponse) -> ActionResult:
        result: ActionResult = create(self)
        tags = self._get_param("Tags")
        if tags:
            self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), tags)
        return result

    _replace(KinesisResponse, "create_stream", create_stream)


# --- SNS and EventBridge data plane ---------------------------------------------------------------------------------


@patch(
    "An SNS message to a Lambda subscription invokes the function asynchronously with SNS's event record (moto "
    "invokes synchronously inside Publish, with a fixed example event)",
    data_plane=True,
)
def _sns_invokes_asynchronously() -> None:
    publish = Subscription.publish

    def deliver(self: Subscription, *args: Any, **kwargs: Any) -> None:
        sns.deliver(publish, _data_plane().invoke_async, self, *args, **kwargs)

    _replace(Subscription, "publish", deliver)


@patch(
    "PutEvents runs each matching rule's Lambda targets asynchronously with the target's input (moto has no "
    "Lambda target)",
    data_plane=True,
)
def _eventbridge_rules_invoke_functions() -> None:
    send = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        eventbridge.send_to_targets(send, _data_plane().invoke_async, self, original_event, transform_input)

    _replace(Rule, "send_to_targets", send_to_targets)


@patch(
    "An event source mapping's records reach the function through the endpoint's pollers, with Lambda's batching, "
    "retries and partial failures (moto delivers SQS messages and stream records itself, one at a time, inside "
    "the write); CreateEventSourceMapping's bookkeeping is kept",
    data_plane=True,
)
def _event_source_mappings_leave_delivery_to_the_pollers() -> None:
    create = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
        esm = create(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        for table in dynamodb_backends[self.account_id][self.region_name].tables.values():
            table.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    _replace(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)


def describe() -> str:
    """The registry as text: one line per patch, its plane, what it restores and any reproduction."""
    lines = [f"moto {MOTO_VERSION}: {len(PATCHES)} patches"]
    for entry in PATCHES:
        plane = "data plane" if entry.data_plane else "control plane"
        reproduced = f" [moto bug, reproduced by {entry.reproduction}]" if entry.reproduction else ""
        lines.append(f"- {entry.name} ({plane}): {entry.restores}{reproduced}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe())
