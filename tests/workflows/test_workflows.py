"""The GitHub Actions workflows: actionlint, pinned actions, least privilege, and the deploy job's safeguards."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
GITHUB = REPO_ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
# owner/repo[/path]@<40 hex> # v<version>: the comment says which release the SHA is, for humans and upgrades.
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+)*$")
LONG_LIVED_KEYS = re.compile(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID", re.I)


def actionlint() -> str:
    """The actionlint installed with requirements-dev.txt (beside this interpreter), else the one on PATH."""
    beside = Path(sys.executable).with_name("actionlint")
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    assert found, "actionlint is not installed: pip install --require-hashes -r requirements-dev.txt"
    return found


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def unpinned_uses(text: str) -> list[str]:
    """Every `uses:` that is neither a local path nor owner/repo@<full SHA> # v<version>."""
    bad = []
    for line in text.splitlines():
        match = re.match(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$", line)
        if match and not match[1].startswith("./") and not PINNED.match(match[1]):
            bad.append(match[1])
    return bad


def permission_problems(workflow: dict) -> list[str]:
    """Jobs without an explicit `permissions:` block, and any write-all or workflow-wide grant."""
    problems = []
    if workflow.get("permissions") != {}:
        problems.append(f"workflow permissions are {workflow.get('permissions')!r}, not {{}}")
    for name, job in workflow["jobs"].items():
        if "permissions" not in job:
            problems.append(f"{name}: no permissions block")
        elif job["permissions"] in ("write-all", "read-all"):
            problems.append(f"{name}: permissions {job['permissions']}")
    return problems


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True


def all_runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job.get("steps", []))


def test_every_workflow_passes_actionlint():
    result = subprocess.run(
        [actionlint(), "-no-color", *map(str, WORKFLOWS)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name for p in WORKFLOWS} == {"checks.yml", "deploy.yml", "pull-request.yml"}


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n"
    )
    result = subprocess.run([actionlint(), "-no-color", str(broken)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "no_such_thing" in result.stdout


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(GITHUB)))
def test_actions_are_pinned_to_a_commit_with_its_version(path):
    assert unpinned_uses(path.read_text()) == []


def test_pin_check_rejects_tags_short_shas_and_missing_comments():
    text = """
      - uses: actions/checkout@v4
      - uses: actions/checkout@11bd719
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - uses: ./.github/actions/terraform
    """
    assert unpinned_uses(text) == [
        "actions/checkout@v4",
        "actions/checkout@11bd719",
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_least_privilege_permissions(path):
    workflow = load(path)
    assert permission_problems(workflow) == []
    assert "write-all" not in path.read_text()
    granted = {scope for job in workflow["jobs"].values() for scope, level in job["permissions"].items()}
    # Read the code; for AWS, request an OIDC token; the deploy job alone writes build provenance attestations.
    assert granted <= {"contents", "id-token", "attestations"}
    for name, job in workflow["jobs"].items():
        assert job["permissions"].get("contents", "read") == "read", name


def test_permission_check_catches_missing_and_broad_grants():
    jobs = {"a": {}, "b": {"permissions": "write-all"}, "c": {"permissions": {"contents": "read"}}}
    workflow = {"permissions": "write-all", "jobs": jobs}
    assert permission_problems(workflow) == [
        "workflow permissions are 'write-all', not {}",
        "a: no permissions block",
        "b: permissions write-all",
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_keep_no_credentials(path):
    steps = [step for job in load(path)["jobs"].values() for step in job.get("steps", [])]
    checkouts = [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts or path.name != "checks.yml"
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_no_long_lived_aws_keys_and_no_untrusted_trigger():
    for path in WORKFLOWS + ACTIONS:
        text = path.read_text()
        assert not LONG_LIVED_KEYS.search(text), path
        assert "pull_request_target" not in text, path  # would run fork code with this repository's secrets
    aws = load(GITHUB / "actions" / "aws-terraform" / "action.yml")
    credentials = next(s for s in aws["runs"]["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert set(credentials["with"]) == {"role-to-assume", "aws-region", "role-session-name"}


def test_deploy_job_is_gated_serialised_and_uses_oidc():
    workflow = load(GITHUB / "workflows" / "deploy.yml")
    assert triggers(workflow)["push"] == {"branches": ["main"]}
    job = workflow["jobs"]["deploy"]
    assert job["needs"] == "checks"
    assert job["environment"]["name"] == "production"  # required reviewers on it are the approval gate
    assert job["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
    assert job["permissions"] == {"contents": "read", "id-token": "write", "attestations": "write"}
    steps = job["steps"]
    uses = [step.get("uses", "") for step in steps]
    runs = [step.get("run", "") for step in steps]
    attest = next(i for i, u in enumerate(uses) if u.startswith("actions/attest-build-provenance@"))
    verify = runs.index("python build.py verify --aws")
    assert (
        runs.index("scripts/deploy.sh apply infra/envs/aws") < attest < verify
    )  # attest what was uploaded, then check AWS
    assert steps[attest]["with"] == {"subject-path": "build/*.zip"}
    assert steps[0]["with"]["fetch-depth"] == 0  # the diff against the last deployed commit needs history
    assert any(s.get("uses") == "./.github/actions/aws-terraform" for s in steps)
    assert steps[-1]["run"] == "python build.py verify --aws"


def test_pull_request_runs_every_check_and_a_read_only_plan():
    checks = all_runs(load(GITHUB / "workflows" / "checks.yml"))
    for command in (
        "ruff check",
        "ruff format --check",
        "bash .ci/run",
        "python build.py all",
        "terraform fmt -check -recursive",
        "validate",
        "checkov --directory infra",
        "python -m pytest -m integration",
    ):
        assert command in checks, command
    workflow = load(GITHUB / "workflows" / "pull-request.yml")
    assert workflow["jobs"]["checks"]["uses"] == "./.github/workflows/checks.yml"
    plan = workflow["jobs"]["plan"]
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}
    assert "scripts/deploy.sh plan infra/envs/aws" in all_runs({"jobs": {"plan": plan}})
    assert "head.repo.full_name == github.repository" in plan["if"]  # forks get no OIDC token


def test_pull_request_jobs_get_no_secrets():
    """A same-repository pull request runs its own code: no job of pull-request.yml may receive a secret."""
    text = (GITHUB / "workflows" / "pull-request.yml").read_text()
    workflow = load(GITHUB / "workflows" / "pull-request.yml")
    assert "secrets." not in text
    assert all("secrets" not in job for job in workflow["jobs"].values())
