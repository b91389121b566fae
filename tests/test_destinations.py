"""Destinations that loop back (a -> b -> a) are refused before anything is built."""

import pytest


@pytest.mark.parametrize("command", [("check",), ("all",)])
def test_a_destination_cycle_is_one_line_exit_2(workspace, command):
    workspace.add_function("a", config='[destinations]\non_success = "b"\n')
    workspace.add_function("b", config='[destinations]\non_failure = "c"\n')
    workspace.add_function("c", config='[destinations]\non_success = "a"\n')
    result = workspace.cli(*command)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "functions/c/function.toml: key 'destinations.on_success': destination cycle a -> b -> c -> a" in lines[0]
    assert not (workspace.root / "build").exists()


def test_destinations_that_share_a_target_are_not_a_cycle(workspace):
    workspace.add_function("a", config='[destinations]\non_success = "c"\non_failure = "b"\n')
    workspace.add_function("b", config='[destinations]\non_success = "c"\n')
    workspace.add_function("c")
    result = workspace.run("check")
    assert result.returncode == 0, result.stderr


def test_a_queue_or_topic_of_resources_toml_is_a_destination(workspace):
    """Lambda's destinations may be SQS queues and SNS topics; they are named as triggers' on_failure names them."""
    (workspace.root / "functions" / "resources.toml").write_text("[queues.failures]\n[topics.done]\n")
    workspace.add_function("a", config='[destinations]\non_failure = "queue:failures"\non_success = "topic:done"\n')
    result = workspace.run("all", "--quiet")
    assert result.returncode == 0, result.stderr
    assert workspace.manifest()["functions"]["a"]["destinations"] == {
        "on_success": "topic:done",
        "on_failure": "queue:failures",
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "queue:nope",
            "functions/a/function.toml: key 'destinations.on_failure': no queue 'nope' in functions/resources.toml "
            "(declared: failures, ordered)",
        ),
        (
            "queue:ordered",
            "functions/a/function.toml: key 'destinations.on_failure': queue 'ordered' is FIFO; Lambda sends "
            "invocation records to standard queues and topics only",
        ),
        (
            "bucket:failures",
            "functions/a/function.toml: key 'destinations.on_failure': 'bucket:failures' must be a function name, "
            "'queue:<name>' or 'topic:<name>'",
        ),
    ],
)
def test_an_undeclared_or_unknown_destination_is_one_line_exit_2(workspace, target, expected):
    (workspace.root / "functions" / "resources.toml").write_text("[queues.failures]\n[queues.ordered]\nfifo = true\n")
    workspace.add_function("a", config=f'[destinations]\non_failure = "{target}"\n')
    result = workspace.cli("check")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {expected}"]
