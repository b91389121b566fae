"""The registry of moto patches: one place, a version guard, and no patch of moto anywhere else."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moto_patches() -> ModuleType:
    """lambdafleet.endpoint.moto_patches, imported when this module's first test runs, not when each pytest-xdist
    worker collects the suite (it imports moto: ~1.2 CPU-s a worker); module-scoped, so these tests share a worker."""
    from lambdafleet.endpoint import moto_patches

    return moto_patches


def test_the_tested_moto_is_the_pinned_one(moto_patches: ModuleType) -> None:
    pin = re.search(r"^moto==(\S+)", (REPO_ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
    assert pin is not None and pin.group(1) == moto_patches.MOTO_VERSION


def test_another_moto_version_is_refused_with_both_versions_named(moto_patches: ModuleType) -> None:
    moto_patches.check_moto_version(moto_patches.MOTO_VERSION)
    with pytest.raises(
        RuntimeError, match=rf"written for moto {re.escape(moto_patches.MOTO_VERSION)}, but moto 5\.3\.0 is"
    ):
        moto_patches.check_moto_version("5.3.0")


@pytest.mark.stack  # slow end to end: the emulator in a new interpreter
def test_the_emulator_refuses_to_start_on_another_moto(moto_patches: ModuleType, tmp_path: Path) -> None:
    """A real installed-package lookup: a moto 99.0.0 distribution earlier on sys.path is the one Python reports."""
    metadata = tmp_path / "moto-99.0.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text("Metadata-Version: 2.1\nName: moto\nVersion: 99.0.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "lambdafleet.endpoint.emulator", "--port", "0"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert (
        f"RuntimeError: lambdafleet's moto patches were written for moto {moto_patches.MOTO_VERSION}, but moto 99.0.0"
        in (result.stderr)
    )


def test_every_patch_says_what_it_restores(moto_patches: ModuleType) -> None:
    names = [patch.name for patch in moto_patches.PATCHES]
    assert len(names) == len(set(names))
    for patch in moto_patches.PATCHES:
        assert len(patch.restores) > 40, patch.name
        assert patch.reproduction is None or (REPO_ROOT / patch.reproduction).is_file(), patch.name


@pytest.mark.stack  # slow end to end: the registry in a new interpreter importing moto
def test_the_registry_lists_itself(moto_patches: ModuleType) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lambdafleet.endpoint.moto_patches"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[0] == f"moto {moto_patches.MOTO_VERSION}: {len(moto_patches.PATCHES)} patches"
    assert [line.split(" ", 2)[1] for line in lines[1:]] == [patch.name for patch in moto_patches.PATCHES]
    assert "s3_listings_survive_concurrent_deletes (control plane): An S3 listing that races" in result.stdout


def test_applying_twice_patches_once(moto_patches: ModuleType) -> None:
    from moto.awslambda.models import LambdaFunction

    moto_patches.apply_all()
    installed = LambdaFunction.get_configuration
    moto_patches.apply_all()
    assert LambdaFunction.get_configuration is installed


def test_a_patch_of_something_moto_no_longer_has_fails_loudly(moto_patches: ModuleType) -> None:
    class Model:
        existing = 1

    with pytest.raises(RuntimeError, match=r"Model\.gone no longer exists"):
        moto_patches._replace(Model, "gone", 2)
    with pytest.raises(RuntimeError, match=r"moto now defines .*Model\.existing; drop the patch"):
        moto_patches._add(Model, "existing", 2)


def _moto_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name == "moto"}
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def test_moto_is_patched_nowhere_but_the_registry() -> None:
    """An assignment onto anything imported from moto (or a setattr on it) outside moto_patches.py is a patch
    that escaped the registry and its version guard."""
    escaped = []
    for path in sorted((REPO_ROOT / "lambdafleet").rglob("*.py")):
        if path.name == "moto_patches.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        moto_names = _moto_names(tree)
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                targets = node.args[:1]
            for target in targets:
                if not isinstance(target, ast.Name) and _root(target) in moto_names:
                    escaped.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert escaped == [], f"moto patched outside lambdafleet/endpoint/moto_patches.py: {escaped}"


def test_a_received_message_past_the_retention_period_is_not_delivered(moto_patches: ModuleType) -> None:
    """The retention check ReceiveMessage makes per message reads the queue's period directly (a patch: moto
    recounted the whole queue for it): a message older than the period is never delivered, a younger one is."""
    from moto import mock_aws
    from moto.sqs.models import sqs_backends

    moto_patches.apply_all()
    with mock_aws():
        backend = sqs_backends["123456789012"]["us-east-1"]
        backend.create_queue("retention", MessageRetentionPeriod="60")
        backend.send_message("retention", "new")
        backend.send_message("retention", "old")
        old = next(message for message in backend.get_queue("retention")._messages if message.body == "old")
        old.sent_timestamp -= 61_000  # sent 61 s ago, past the 60 s period
        received = backend.receive_message("retention", 10, 0, 30, [])
    assert [message.body for message in received] == ["new"]
