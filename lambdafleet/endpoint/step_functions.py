"""Step Functions executions on the embedded endpoint: moto's ASL interpreter runs them, and its Lambda tasks
call the endpoint itself, so the functions run on the local runtime like any other invocation.

What moto lacks for that is here; lambdafleet.endpoint.moto_patches installs it into moto.
"""

import datetime
import json
import uuid

from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.models import StepFunctionBackend
from moto.stepfunctions.parser.backend.execution import SyncExecution
from moto.stepfunctions.responses import StepFunctionResponse

# Logs a state's failure with a repr of the whole state: moto_patches quiets it.
FAILURE_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


class StateMachineTypeNotSupported(AWSError):
    """StartSyncExecution of a standard state machine."""

    TYPE = "StateMachineTypeNotSupported"
    STATUS = 400


def execution_name(backend: StepFunctionBackend, requested: str | None) -> str:
    """The name the client asked for, checked as AWS checks it, or a UUID when it asked for none."""
    if requested:
        backend._validate_name(requested)
    return requested or str(uuid.uuid4())


def start_sync_execution(self: StepFunctionResponse) -> ActionResult:
    """StartSyncExecution (a response method of moto's): run an express state machine to its end and answer with
    the outcome."""
    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    if machine.type != "EXPRESS":  # moto's `sm_type` is always STANDARD
        raise StateMachineTypeNotSupported("This operation is not supported by this type of state machine")
    execution_input = self._get_param("input", if_none="{}")
    try:
        json.loads(execution_input)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None
    name = execution_name(self.stepfunction_backend, self._get_param("name"))
    execution = SyncExecution(
        name=name,
        sm_type=machine.type,  # type: ignore[arg-type]  # "EXPRESS": the interpreter compares it with the enum's str
        role_arn=machine.roleArn,
        exec_arn=f"{machine.arn.replace(':stateMachine:', ':express:')}:{name}:{uuid.uuid4()}",
        account_id=self.current_account,
        region_name=self.region,
        state_machine=machine,  # type: ignore[arg-type]  # moto's own StartExecution passes its model too
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=execution_input,
        trace_header=self._get_param("traceHeader"),
        activity_store={},
    )
    execution.start()  # a sync worker runs the machine in this thread, to its end
    return ActionResult(execution.to_start_sync_execution_output())
