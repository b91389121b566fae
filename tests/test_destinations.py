"""Destinations that loop back (a -> b -> a) are refused before anything is built."""

import pytest


@pytest.mark.parametrize("command", [("check",), ("all",)])
def test_a_destination_cycle_is_one_line_exit_2(workspace, command):
    workspace.add_function("a", config='[destinations]\non_success = "b"\n')
    workspace.add_function("b", config='[destinations]\non_failure = "c"\n')
    workspace.add_function("c", config='[destinations]\non_success = "a"\n')
    result = workspace.run(*command)
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
