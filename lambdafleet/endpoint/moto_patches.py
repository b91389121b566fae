"""Operations and fields the AWS provider uses on this project's Terraform that moto 5.2 lacks.

Each gap is filled with real behaviour, not a stub that accepts anything, and registered on moto's own classes
by :func:`register`, so the emulator and in-process ``mock_aws`` tests see the same service.
"""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.core.responses import ActionResult
from moto.s3.utils import _VersionedKeyStore
from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException
from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import ExpressStaticAnalyser
from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser
from moto.stepfunctions.responses import StepFunctionResponse


def check_state_machine_definition(definition: str, machine_type: str = "STANDARD") -> list[dict]:
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


def _diagnostic(code: str, message: str) -> dict:
    return {"severity": "ERROR", "code": code, "message": message}


def _missing_targets(machine: dict) -> Iterator[str]:
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


def _validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
    diagnostics = check_state_machine_definition(
        self._get_param("definition") or "", self._get_param("type") or "STANDARD"
    )
    return ActionResult({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False})


def _list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    newest_first = sorted(machine.versions.items(), reverse=True)
    return ActionResult(
        {
            "stateMachineVersions": [
                {"stateMachineVersionArn": version.arn, "creationDate": version.creation_date}
                for _, version in newest_first
            ]
        }
    )


def _logging_config(requested: dict | None, function_name: str) -> dict:
    """LoggingConfig as Lambda reports it: the defaults AWS fills in for what the request left out."""
    config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(requested or {})}
    if config["LogFormat"] == "JSON":
        config = {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", **config}
    return config


def _without_empty_image_config(config: dict[str, Any]) -> dict[str, Any]:
    """Lambda reports only the image settings that override the image's own; moto reports empty ones too."""
    image_config = config.get("ImageConfigResponse", {}).get("ImageConfig", {})
    overrides = {key: value for key, value in image_config.items() if value}
    config = {key: value for key, value in config.items() if key != "ImageConfigResponse"}
    return {**config, "ImageConfigResponse": {"ImageConfig": overrides}} if overrides else config


def _lambda_reports_what_aws_does() -> None:
    """Make Lambda store and report LoggingConfig, and leave out empty image settings, as AWS does.

    Without this, moto's answers differ from what the provider asked for and every plan shows a change.
    """
    create, configure, report = (
        LambdaFunction.__init__,
        LambdaFunction.update_configuration,
        LambdaFunction.get_configuration,
    )

    def __init__(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        create(self, account_id, spec, *args, **kwargs)
        self.logging_config = _logging_config(spec.get("LoggingConfig"), self.function_name)

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            self.logging_config = _logging_config(config_updates["LoggingConfig"], self.function_name)
        return configure(self, config_updates)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = {**report(self, *args, **kwargs), "LoggingConfig": self.logging_config}
        return _without_empty_image_config(config)

    LambdaFunction.__init__ = __init__
    LambdaFunction.update_configuration = update_configuration
    LambdaFunction.get_configuration = get_configuration


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
    return time.monotonic() < getattr(function, _SETTLES_AT, 0.0)


def _pending(function: LambdaFunction) -> bool:
    return _in_flight(function) and getattr(function, _CREATING, False)


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


def _lambda_function_states() -> None:
    """Make a function go through Lambda's states: CreateFunction answers `State: Pending` and the function is
    Active FUNCTION_SETTLE_S later; UpdateFunctionCode and UpdateFunctionConfiguration answer `LastUpdateStatus:
    InProgress`, Successful as long after. Meanwhile Invoke of a Pending function, and another update or a
    PublishVersion, are refused with ResourceConflictException (409), as on AWS; moto is Active at once, so
    code that forgets the function_active_v2 / function_updated_v2 waiters passed locally and failed on AWS.
    """
    create = LambdaBackend.create_function
    update_code, update_configuration = LambdaBackend.update_function_code, LambdaBackend.update_function_configuration
    publish, invoke, report = LambdaBackend.publish_version, LambdaBackend.invoke, LambdaFunction.get_configuration

    def create_function(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
        function = create(self, spec)  # with Publish, version 1 is copied before: it is Active already
        _start(function, creating=True)
        return function

    def updating(
        update: Callable[[LambdaBackend, str, str, dict[str, Any]], dict[str, Any] | None],
    ) -> Callable[[LambdaBackend, str, str, dict[str, Any]], dict[str, Any] | None]:
        def run(self: LambdaBackend, name: str, qualifier: str, body: dict[str, Any]) -> dict[str, Any] | None:
            _refuse_while_in_flight(self, name, qualifier)
            answer = update(self, name, qualifier, body)  # with Publish, it publishes before the update starts
            function = self.get_function(name, qualifier)
            _start(function, creating=False)
            return _state_fields(function, answer) if answer is not None else None

        return run

    def publish_version(self: LambdaBackend, name: str, description: str = "") -> LambdaFunction | None:
        _refuse_while_in_flight(self, name)
        return publish(self, name, description)

    def invoke_function(self: LambdaBackend, name: str, qualifier: str | None, *args: Any) -> Any:
        if _pending(self.get_function(name, qualifier)):
            raise FunctionStateConflict(
                "The operation cannot be performed at this time. The function is currently in the following "
                "state: Pending"
            )
        return invoke(self, name, qualifier, *args)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return _state_fields(self, report(self, *args, **kwargs))

    LambdaBackend.create_function = create_function
    LambdaBackend.update_function_code = updating(update_code)
    LambdaBackend.update_function_configuration = updating(update_configuration)
    LambdaBackend.publish_version = publish_version
    LambdaBackend.invoke = invoke_function
    LambdaFunction.get_configuration = get_configuration


def _s3_listings_survive_concurrent_deletes() -> None:
    """Let an S3 listing that races a DeleteObject finish, as AWS's does, instead of answering 500.

    moto copies a bucket's key table and then looks every name up again in the live table, so a key deleted in
    between (terraform destroy empties a bucket with parallel deletes while it lists versions) yields None and
    ListObjectVersions fails with a TypeError. Reading the versions from the copy itself keeps the snapshot
    consistent: a listing shows the bucket as it was when the listing began.
    """

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
    _VersionedKeyStore.lists = _VersionedKeyStore.iterlists = _VersionedKeyStore._iterlists = lists
    _VersionedKeyStore.items = _VersionedKeyStore.iteritems = _VersionedKeyStore._iteritems = items
    _VersionedKeyStore.values = _VersionedKeyStore.itervalues = _VersionedKeyStore._itervalues = values


_registered = False


def register() -> None:
    """Install every gap into moto; safe to call more than once."""
    global _registered
    if _registered:
        return
    # moto dispatches a JSON-protocol action to the response method of the same snake_case name.
    StepFunctionResponse.validate_state_machine_definition = _validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = _list_state_machine_versions
    _lambda_reports_what_aws_does()
    _lambda_function_states()
    _s3_listings_survive_concurrent_deletes()
    _registered = True
