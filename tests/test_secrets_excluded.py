"""Secrets never ship by default: keys, credentials, Terraform state, virtualenvs, what git ignores.

An explicit `include` in function.toml ships such a file on purpose; a symlink whose target would itself be
excluded (a link to ../../.env) is refused rather than shipping the target's content.
"""

import subprocess

SECRETS = {
    "id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    "id_ed25519": "key\n",
    "certs/server.pem": "pem\n",
    "certs/server.key": "key\n",
    "secrets.json": "{}\n",
    "credentials.json": "{}\n",
    "terraform.tfstate": "{}\n",
    "terraform.tfstate.backup": "{}\n",
    "venv/lib/site.py": "x = 1\n",
    ".venv/lib/site.py": "x = 1\n",
    "node_modules/left-pad/index.js": "//\n",
}


def test_secret_files_are_excluded_by_default(workspace):
    workspace.add_function("fn", files={**SECRETS, "app.py": "x = 1\n", "certs/README.txt": "public\n"})
    result = workspace.run("fn")
    assert result.returncode == 0, result.stderr
    assert workspace.zip_names("fn") == ["app.py", "certs/README.txt", "lambda_function.py"]


def test_include_ships_a_default_excluded_file_on_purpose(workspace):
    config = 'include = ["certs/server.pem", "node_modules"]\n'
    workspace.add_function("fn", config=config, files=SECRETS)
    result = workspace.run("fn")
    assert result.returncode == 0, result.stderr
    names = workspace.zip_names("fn")
    assert "certs/server.pem" in names and "node_modules/left-pad/index.js" in names
    assert "certs/server.key" not in names and "id_rsa" not in names


def test_files_git_ignores_do_not_ship(workspace):
    subprocess.run(["git", "init", "-q", str(workspace.root)], check=True)
    (workspace.root / ".gitignore").write_text("*.log\nlocal_settings.py\n")
    folder = workspace.add_function(
        "fn",
        files={"app.py": "x = 1\n", "debug.log": "x\n", "local_settings.py": "TOKEN = 'x'\n", "private/a.txt": "x"},
    )
    (folder / ".gitignore").write_text("private/\n")
    result = workspace.run("fn")
    assert result.returncode == 0, result.stderr
    assert workspace.zip_names("fn") == ["app.py", "lambda_function.py"]


def test_a_symlink_to_an_excluded_file_is_refused(workspace):
    (workspace.root / ".env").write_text("AWS_SECRET_ACCESS_KEY=x\n")
    folder = workspace.add_function("fn")
    (folder / "settings.txt").symlink_to("../../.env")
    result = workspace.cli("fn")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "functions/fn/settings.txt: symlink to .env, which is never shipped" in lines[0]
    assert not (workspace.root / "build" / "fn.zip").exists()


def test_a_symlink_to_a_secret_elsewhere_in_the_repository_is_refused(workspace):
    (workspace.root / "keys").mkdir()
    (workspace.root / "keys" / "deploy.pem").write_text("pem\n")
    folder = workspace.add_function("fn")
    (folder / "cert.txt").symlink_to("../../keys/deploy.pem")
    result = workspace.cli("fn")
    assert result.returncode == 2, result.stderr
    assert "functions/fn/cert.txt: symlink to keys/deploy.pem, which is never shipped" in result.stderr
