"""Step Functions executions on the embedded endpoint: moto's ASL interpreter runs them, and its Lambda tasks
call the endpoint itself, so the functions run on the local runtime like any other invocation."""

import datetime
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from moto.core.config import default_user_config
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.parser import api
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.backend.execution import Execution, SyncExecution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

# Logs a state's failure with a repr of the whole state: the execution's history already says what failed, and
# the function's own failure is logged by the fleet.
FAILURE_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


def install(endpoint_url: str) -> None:
    """Make StartExecution and StartSyncExecution run state machines, their service calls sent to `endpoint_url`.

    Call it before the first CreateStateMachine: moto keeps the machines of its executing backend apart from
    those of its default one.
    """
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    # The interpreter's clients call http://localhost:{moto_server_port()}, 5000 unless MOTO_PORT says otherwise;
    # answering with this endpoint's port keeps the setting in this process, out of the functions' environment.
    port = str(urlsplit(endpoint_url).port)
    boto_client.moto_server_port = lambda: port
    StepFunctionsParserBackend.start_execution = _named(StepFunctionsParserBackend.start_execution)
    # moto dispatches a JSON-protocol action to the response method of the same snake_case name.
    StepFunctionResponse.start_sync_execution = _start_sync_execution
    logging.getLogger(FAILURE_LOGGER).setLevel(logging.CRITICAL)
    _name_interpreter_errors()


def _name_interpreter_errors() -> None:
    """Give the interpreter's errors (InvalidDefinition, InvalidExecutionInput, ...) their AWS error code.

    They carry it as `code`, the LocalStack way; moto's AWSError reads `TYPE` and would answer with an empty one.
    """
    for error in vars(api).values():
        if isinstance(error, type) and issubclass(error, AWSError) and isinstance(error.__dict__.get("code"), str):
            error.TYPE = error.__dict__["code"]


class StateMachineTypeNotSupported(AWSError):
    """StartSyncExecution of a standard state machine."""

    TYPE = "StateMachineTypeNotSupported"
    STATUS = 400


StartExecution = Callable[..., Execution]


def _named(start: StartExecution) -> StartExecution:
    """StartExecution names an unnamed execution with a UUID, as AWS does; moto's interpreter would name it "None",
    and take a second unnamed start with the same input for a retry of the first."""

    def start_execution(
        self: StepFunctionsParserBackend, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Execution:
        return start(self, state_machine_arn, _execution_name(self, name), *args, **kwargs)

    return start_execution


def _execution_name(backend: StepFunctionsParserBackend, requested: str | None) -> str:
    """The name the client asked for, checked as AWS checks it, or a UUID when it asked for none."""
    if requested:
        backend._validate_name(requested)
    return requested or str(uuid.uuid4())


def _start_sync_execution(self: StepFunctionResponse) -> ActionResult:
    """StartSyncExecution: run an express state machine to its end and answer with the outcome."""
    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    if machine.type != "EXPRESS":  # moto's `sm_type` is always STANDARD
        raise StateMachineTypeNotSupported("This operation is not supported by this type of state machine")
    execution_input = self._get_param("input", if_none="{}")
    try:
        json.loads(execution_input)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None
    name = _execution_name(self.stepfunction_backend, self._get_param("name"))
    execution = SyncExecution(
        name=name,
        sm_type=machine.type,
        role_arn=machine.roleArn,
        exec_arn=f"{machine.arn.replace(':stateMachine:', ':express:')}:{name}:{uuid.uuid4()}",
        account_id=self.current_account,
        region_name=self.region,
        state_machine=machine,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=execution_input,
        trace_header=self._get_param("traceHeader"),
        activity_store={},
    )
    execution.start()  # a sync worker runs the machine in this thread, to its end
    return ActionResult(execution.to_start_sync_execution_output())
