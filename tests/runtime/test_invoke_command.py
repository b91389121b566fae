"""`build.py invoke` in a throwaway repository: what reaches the function, and what stops before it runs."""

import json
import platform

import pytest

from lambdafleet.runtime.interpreter import lambda_architecture

HOST = lambda_architecture(platform.machine())
OTHER = "arm64" if HOST == "x86_64" else "x86_64"

ENV_DUMP = "import os\n\ndef lambda_handler(event, context):\n    return dict(os.environ)\n"


@pytest.mark.stack  # slow end to end: build.py invoke in new processes
def test_configured_and_passed_variables_reach_the_function_and_nothing_else(workspace):
    workspace.add_function("envdump", 'environment = {TABLE_ITEMS = "items-1"}\n', {"lambda_function.py": ENV_DUMP})
    done = workspace.run(
        "invoke", "envdump", "--env", "FEATURE=on", "--endpoint-url", "http://127.0.0.1:4566",
        env={"SHELL_ONLY": "must not leak", "AWS_ACCESS_KEY_ID": "AKIADEV", "AWS_SECRET_ACCESS_KEY": "s"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = json.loads(done.stdout)
    assert env["TABLE_ITEMS"] == "items-1" and env["FEATURE"] == "on"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIADEV" and "AWS_SESSION_TOKEN" not in env
    assert "SHELL_ONLY" not in env and "LAMBDAFLEET_CACHE_DIR" not in env


@pytest.mark.stack  # slow end to end: build.py invoke in new processes
def test_a_dependency_missing_from_the_zip_fails_as_in_lambda(workspace):
    workspace.add_function(
        "needsyaml", files={"lambda_function.py": "import yaml\n\ndef lambda_handler(e, c):\n    pass\n"}
    )
    done = workspace.run("invoke", "needsyaml")
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'lambda_function': No module named 'yaml'" in done.stderr


def test_an_edit_rebuilds_before_invoking(workspace):
    folder = workspace.add_function(
        "changing", files={"lambda_function.py": "def lambda_handler(e, c):\n    return 1\n"}
    )
    assert workspace.run("invoke", "changing").stdout == "1\n"
    (folder / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 2\n")
    assert workspace.run("invoke", "changing").stdout == "2\n"


def test_functions_this_machine_cannot_run_are_refused_in_one_line(workspace):
    workspace.add_function("onarm", f'architecture = "{OTHER}"\n')
    workspace.add_function("future", 'runtime = "python3.14"\n')
    for name, message in [
        ("onarm", f"error: functions/onarm/function.toml: architecture '{OTHER}' cannot run on this {HOST} machine"),
        ("future", "error: functions/future/function.toml: runtime 'python3.14' needs python3.14"),
    ]:
        done = workspace.cli("invoke", name)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(message) and done.stderr.count("\n") == 1
        assert done.stdout == ""


def test_an_image_function_runs_its_images_task_root_without_docker(workspace, tmp_path):
    """The image's task root (its lock installed for the target, its sources) runs with the image's CMD."""
    from pathlib import Path

    lock = (Path(__file__).parents[1] / "fixtures" / "six-python3.12-x86_64.txt").read_text()
    handler = "import os, six\n\ndef handle(event, context):\n    return [six.__version__, os.environ['MODE']]\n"
    workspace.add_function(
        "img",
        'package_type = "image"\nhandler = "app.handle"\nenvironment = {MODE = "image"}\n',
        {"app.py": handler, "requirements.txt": lock},
    )
    done = workspace.run("invoke", "img")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["1.16.0", "image"]
    manifest = workspace.manifest()["functions"]["img"]
    assert manifest["image"]["command"] == ["app.handle"] and manifest["image"]["task_zip"] == "img.task.zip"


COUNTER = """
import os
COUNT = 0
def lambda_handler(event, context):
    global COUNT
    COUNT += 1
    return [COUNT, os.environ["AWS_LAMBDA_LOG_STREAM_NAME"], os.environ.get("X")]
"""


@pytest.mark.stack  # slow end to end: build.py invoke in new processes
def test_a_repeated_invoke_is_a_warm_start_until_the_function_changes(workspace):
    """As Lambda reuses an environment: module state persists and init runs once; any change means a new one."""
    folder = workspace.add_function("counter", files={"lambda_function.py": COUNTER})
    first, second = workspace.run("invoke", "counter"), workspace.run("invoke", "counter")
    (count1, stream1, _), (count2, stream2, _) = json.loads(first.stdout), json.loads(second.stdout)
    assert (count1, count2) == (1, 2) and stream1 == stream2
    assert "Init Duration" in first.stderr and "Init Duration" not in second.stderr
    assert json.loads(workspace.run("invoke", "counter", "--cold").stdout)[0] == 1  # a fresh environment
    assert json.loads(workspace.run("invoke", "counter", "--env", "X=1").stdout)[::2] == [1, "1"]  # new variables
    (folder / "lambda_function.py").write_text(COUNTER.replace("COUNT += 1", "COUNT += 10"))
    assert json.loads(workspace.run("invoke", "counter").stdout)[0] == 10  # a new zip: a new environment
    assert json.loads(workspace.run("invoke", "counter").stdout)[0] == 20
