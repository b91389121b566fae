"""Step Functions executions on the endpoint: state machines whose Task states invoke Lambda functions run, the
functions on the local runtime, and end SUCCEEDED with the chained output or FAILED with the function's error."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ADD_ONE = "def lambda_handler(event, context):\n    return {'n': event['n'] + 1}\n"
DOUBLE = "def lambda_handler(event, context):\n    return {'n': event['n'] * 2}\n"
REFUSE = (
    "class OutOfStock(Exception):\n    pass\n\n"
    "def lambda_handler(event, context):\n    raise OutOfStock(f\"no {event['n']}\")\n"
)


@pytest.fixture(scope="module")
def functions(deploy_function) -> dict[str, str]:
    """ARNs of three deployed functions: add-one, double, and one that always raises OutOfStock."""
    return {
        name: deploy_function(source)["FunctionArn"]
        for name, source in [("add_one", ADD_ONE), ("double", DOUBLE), ("refuse", REFUSE)]
    }


def _chain(first: str, then: str) -> dict:
    """Two Task states: `first` as a Lambda ARN resource, `then` through the lambda:invoke integration."""
    return {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Task", "Resource": first, "Next": "Then"},
            "Then": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": then, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            },
        },
    }


@pytest.fixture(scope="module")
def create_machine(endpoint, lambda_role: str) -> Callable[..., str]:
    """`create_machine(definition, type="STANDARD")`: CreateStateMachine under a unique name; returns its ARN."""
    client = endpoint.client("stepfunctions")

    def create(definition: dict, machine_type: str = "STANDARD") -> str:
        name = f"sm-{uuid.uuid4().hex[:8]}"
        answer = client.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=lambda_role, type=machine_type
        )
        return answer["stateMachineArn"]

    return create


def test_an_execution_chains_the_functions_outputs(endpoint, run_execution, functions, create_machine) -> None:
    machine = create_machine(_chain(functions["add_one"], functions["double"]))
    execution = run_execution(machine, {"n": 3})
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {"n": 8}
    history = endpoint.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])
    kinds = [event["type"] for event in history["events"]]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionSucceeded"
    assert "LambdaFunctionSucceeded" in kinds and "TaskSucceeded" in kinds  # one of each resource style


def test_a_failing_function_fails_the_execution_with_its_error(
    endpoint, run_execution, functions, create_machine
) -> None:
    machine = create_machine(_chain(functions["add_one"], functions["refuse"]))
    execution = run_execution(machine, {"n": 1})
    assert execution["status"] == "FAILED", execution
    assert execution["error"] == "OutOfStock"
    assert json.loads(execution["cause"])["errorMessage"] == "no 2"


def test_a_catch_handles_the_functions_error(run_execution, functions, create_machine) -> None:
    catching = {
        "StartAt": "Refuse",
        "States": {
            "Refuse": {
                "Type": "Task",
                "Resource": functions["refuse"],
                "Catch": [{"ErrorEquals": ["OutOfStock"], "ResultPath": "$.caught", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    execution = run_execution(create_machine(catching), {"n": 5})
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["caught"]["Error"] == "OutOfStock"


def test_unnamed_executions_get_distinct_names(endpoint, functions, create_machine) -> None:
    client = endpoint.client("stepfunctions")
    machine = create_machine(_chain(functions["add_one"], functions["double"]))
    first, second = (client.start_execution(stateMachineArn=machine, input='{"n": 0}') for _ in range(2))
    assert first["executionArn"] != second["executionArn"]
    assert not first["executionArn"].endswith(":None")


def test_input_that_is_not_json_is_refused(endpoint, functions, create_machine) -> None:
    machine = create_machine(_chain(functions["add_one"], functions["double"]))
    with pytest.raises(ClientError) as caught:
        endpoint.client("stepfunctions").start_execution(stateMachineArn=machine, input='{"n":')
    assert caught.value.response["Error"]["Code"] == "InvalidExecutionInput"


def _sync_client(endpoint) -> Any:
    """A Step Functions client that sends StartSyncExecution to the endpoint itself, not to `sync-<host>`."""
    return endpoint.client("stepfunctions", config=Config(inject_host_prefix=False))


def test_a_sync_execution_answers_with_the_outcome(endpoint, functions, create_machine) -> None:
    machine = create_machine(_chain(functions["add_one"], functions["double"]), "EXPRESS")
    succeeded = _sync_client(endpoint).start_sync_execution(stateMachineArn=machine, input=json.dumps({"n": 4}))
    assert (succeeded["status"], json.loads(succeeded["output"])) == ("SUCCEEDED", {"n": 10})
    failed = _sync_client(endpoint).start_sync_execution(stateMachineArn=machine, input=json.dumps({"n": "x"}))
    assert (failed["status"], failed["error"]) == ("FAILED", "TypeError")


def test_a_sync_execution_of_a_standard_machine_is_refused(endpoint, functions, create_machine) -> None:
    machine = create_machine(_chain(functions["add_one"], functions["double"]))
    with pytest.raises(ClientError) as caught:
        _sync_client(endpoint).start_sync_execution(stateMachineArn=machine, input="{}")
    assert caught.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


def test_the_emulator_gaps_serve_the_executing_backend(endpoint, lambda_role: str) -> None:
    """ValidateStateMachineDefinition and ListStateMachineVersions (lambdafleet/endpoint/moto_patches.py) read the
    machines of moto's executing backend, where the endpoint keeps them."""
    client = endpoint.client("stepfunctions")
    dangling = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}})
    assert client.validate_state_machine_definition(definition=dangling)["result"] == "FAIL"
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    name = f"sm-{uuid.uuid4().hex[:8]}"
    arn = client.create_state_machine(name=name, definition=definition, roleArn=lambda_role, publish=True)[
        "stateMachineArn"
    ]
    [version] = client.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert version["stateMachineVersionArn"] == f"{arn}:1"
