"""Operations and fields the AWS provider uses on this project's Terraform that moto 5.2 lacks.

Each gap is filled with real behaviour, not a stub that accepts anything, and registered on moto's own classes
by :func:`register`, so the emulator and in-process ``mock_aws`` tests see the same service.
"""

import json
from collections.abc import Iterator
from typing import Any

from moto.awslambda.models import LambdaFunction
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


def _bucket_policies_apply_to_their_principals() -> None:
    """Apply a bucket policy's statements to the principals they name, with their conditions, as S3 does.

    moto applies every statement to every caller, ignoring Principal and failing any Condition, so a Deny naming
    one role (or the TLS-only Deny, conditioned on aws:SecureTransport) refused the developer's own keys too. The
    developer's requests are the account's: statements naming everyone or the account apply to them. Function
    roles are checked in full by lambdafleet.endpoint.iam_enforcement.
    """
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

    FakeBucket.get_permission = get_permission


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
    _s3_listings_survive_concurrent_deletes()
    _bucket_policies_apply_to_their_principals()
    _registered = True
