"""How an image function starts with its ImageConfig (images.start): the handler the runtime interface client gets,
or what the entrypoint does instead. Docker's rules: an override replaces the image's setting, and the CMD's
arguments follow the ENTRYPOINT's own."""

import pytest

from lambdafleet.runtime.images import ENTRYPOINT_USAGE, ImageTask, start
from lambdafleet.runtime.spec import StartFailure

TASK = ImageTask(
    function="img",
    task_zip="/nowhere/img.task.zip",
    task_sha256=None,
    command=["app.where"],
    runtime="python3.12",
    architecture="x86_64",
)


@pytest.mark.parametrize(
    ("entry_point", "command", "handler"),
    [
        ([], [], "app.where"),  # the image's own: /lambda-entrypoint.sh app.where
        ([], ["app.other"], "app.other"),
        (["/lambda-entrypoint.sh"], [], "app.where"),
        (["/lambda-entrypoint.sh", "app.other"], ["--"], None),  # two arguments: the script's usage error
        (["python3", "-m", "awslambdaric"], [], "app.where"),
        (["/var/lang/bin/python3.12", "-m", "awslambdaric"], ["app.other", "ignored"], "app.other"),
        (["python", "-m", "awslambdaric", "app.other"], [], "app.other"),
    ],
)
def test_the_base_entrypoint_and_the_runtime_client_run_the_handler_docker_would_pass(
    entry_point: list[str], command: list[str], handler: str | None
) -> None:
    if handler is None:
        assert start(TASK, entry_point, command) == ("", StartFailure(ENTRYPOINT_USAGE, exit_code=142))
    else:
        assert start(TASK, entry_point, command) == (handler, None)


@pytest.mark.parametrize(
    "entry_point",
    [
        ["sh"],
        ["/usr/local/bin/python", "-m", "awslambdaric"],  # not where the base image has its Python
        ["python3.11", "-m", "awslambdaric"],  # another Python than the base image's
        ["python3", "-m", "my_server"],
        ["/var/runtime/bootstrap"],
    ],
)
def test_any_other_entrypoint_is_invalid_here(entry_point: list[str]) -> None:
    handler, failure = start(TASK, entry_point, ["app.where"])
    assert handler == "" and failure is not None and failure.exit_code is None
    assert failure.error_type == "Runtime.InvalidEntrypoint"
    assert failure.message.startswith("cannot run the entrypoint ") and "without Docker" in failure.message


def test_the_runtime_client_without_a_handler_fails_as_awslambdaric_does() -> None:
    task = ImageTask(**{**TASK.__dict__, "command": []})
    assert start(task, ["python3", "-m", "awslambdaric"], []) == (
        "",
        StartFailure("ValueError: Handler not set", exit_code=1),
    )
