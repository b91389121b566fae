"""`build.py push NAME`: says plainly when Docker is missing, else builds, logs in to ECR and pushes.

No Docker engine runs here, so the push sequence is checked with a stand-in `docker` program that
records its arguments; the real `docker` CLI is used where one is installed, and a real image build
only where an engine answers.
"""

import base64
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest

IMAGE_TOML = 'package_type = "image"\n'
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def _fake_docker(folder: Path, exit_code: int = 0, fail_on: str = "") -> Path:
    """A `docker` that appends each call (and a login's stdin) to docker.log, failing where told to."""
    folder.mkdir(exist_ok=True)
    script = folder / "docker"
    script.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            f"""
            import sys
            args = sys.argv[1:]
            with open({str(folder / "docker.log")!r}, "a") as log:
                log.write(" ".join(args) + "\\n")
                if args[0] == "login":
                    log.write("stdin: " + sys.stdin.read() + "\\n")
            if args[0] == "version" and {exit_code}:
                sys.stderr.write("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\\n")
                sys.exit({exit_code})
            if args[0] == {fail_on!r}:
                sys.exit(3)
            """
        )
    )
    script.chmod(0o755)
    return folder


def _log(folder: Path) -> list[str]:
    return (folder / "docker.log").read_text().splitlines()


def _one_line_error(result, expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


def test_no_docker_command_means_a_clear_exit_2(workspace, tmp_path):
    workspace.add_function("img", config=IMAGE_TOML)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = workspace.cli("push", "img", env={"PATH": str(empty)})
    _one_line_error(result, "push needs a Docker engine to build the image, and no 'docker' command is on PATH")


def test_an_engine_that_does_not_answer_means_a_clear_exit_2(workspace, tmp_path):
    workspace.add_function("img", config=IMAGE_TOML)
    bin_dir = _fake_docker(tmp_path / "bin", exit_code=1)
    result = workspace.cli("push", "img", env={"PATH": str(bin_dir)})
    _one_line_error(result, "push needs a Docker engine, and none answered")
    assert "Cannot connect to the Docker daemon" in result.stderr
    assert not (workspace.root / "build").exists()


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_the_real_docker_cli_without_an_engine_means_a_clear_exit_2(workspace, tmp_path):
    workspace.add_function("img", config=IMAGE_TOML)
    result = workspace.cli("push", "img", env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    _one_line_error(result, "push needs a Docker engine, and none answered")


def test_zip_functions_cannot_be_pushed(workspace):
    workspace.add_function("plain")
    _one_line_error(workspace.cli("push", "plain"), "functions/plain/function.toml: key 'package_type': is 'zip'")


# The repository is infra/'s: name_prefix + function name, lower case.
@pytest.mark.stack  # slow end to end: an image build and push through a stand-in docker
@pytest.mark.parametrize(("prefix_args", "repository"), [((), "lambdafleet-img"), (("--prefix", "dev-"), "dev-img")])
def test_push_logs_in_to_ecr_builds_for_the_platform_and_pushes_the_tag(
    workspace, tmp_path, aws_env, prefix_args, repository
):
    workspace.add_function("Img", config=IMAGE_TOML + 'architecture = "arm64"\n')
    bin_dir = _fake_docker(tmp_path / "bin")
    result = workspace.run("push", "Img", *prefix_args, env={"PATH": str(bin_dir)})
    assert result.returncode == 0, result.stderr
    tag = workspace.manifest()["functions"]["Img"]["image"]["tag"]
    reference = f"{ECR}/{repository}:{tag}"
    assert result.stdout.strip() == reference
    token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().split(":", 1)[1]
    context = workspace.root / "build" / "Img.image"
    assert _log(bin_dir) == [
        "version --format {{.Server.Version}}",
        f"login --username AWS --password-stdin {ECR}",
        f"stdin: {password}",
        f"build --platform linux/arm64 --tag {reference} {context}",
        f"push {reference}",
    ]
    assert (context / "Dockerfile").is_file()


def test_other_registries_are_pushed_without_an_ecr_login(workspace, tmp_path):
    workspace.add_function("img", config=IMAGE_TOML)
    bin_dir = _fake_docker(tmp_path / "bin")
    result = workspace.run("push", "img", "--repository", "localhost:5000/img", env={"PATH": str(bin_dir)})
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in _log(bin_dir)] == ["version", "build", "push"]


def test_a_failed_docker_build_is_exit_1_and_nothing_is_pushed(workspace, tmp_path):
    workspace.add_function("img", config=IMAGE_TOML)
    bin_dir = _fake_docker(tmp_path / "bin", fail_on="build")
    result = workspace.run("push", "img", "--repository", "localhost:5000/img", env={"PATH": str(bin_dir)})
    assert result.returncode == 1
    assert "'docker build' failed with exit code 3" in result.stderr
    assert "push" not in [line.split()[0] for line in _log(bin_dir)]


def _engine_answers() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "version"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _engine_answers(), reason="no Docker engine answers on this machine")
def test_the_context_builds_with_a_real_engine(workspace):
    workspace.add_function("img", config=IMAGE_TOML)
    assert workspace.run("img").returncode == 0
    built = subprocess.run(["docker", "build", "--quiet", str(workspace.root / "build/img.image")], timeout=600)
    assert built.returncode == 0
