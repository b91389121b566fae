"""`build.py new NAME`: a function folder that builds and passes its own test immediately."""

from pathlib import Path

from lambdafleet.build.project import FUNCTIONS_DIR, validate_name
from lambdafleet.errors import UserError

_FILES = {
    "lambda_function.py": '''"""{name}: describe what this function does."""

import json


def lambda_handler(event, context):
    return {{"statusCode": 200, "body": json.dumps({{"function": "{name}", "received": event}})}}
''',
    "function.toml": """# Every key is optional; the values below are the defaults (but description). See README.md.
description = "{name}"
runtime = "python3.12"
architecture = "x86_64"
memory_size = 128
timeout = 3
""",
    "requirements.in": """# Direct dependencies, one per line; then run: python build.py lock {name}
""",
    "tests/test_handler.py": """import json


def test_returns_the_event(lambda_module):
    response = lambda_module.lambda_handler({{"hello": "world"}}, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {{"function": "{name}", "received": {{"hello": "world"}}}}
""",
}


def create_function(root: Path, name: str) -> Path:
    """Write functions/<name>/ from the template; refuses to touch an existing folder."""
    label = f"{FUNCTIONS_DIR}/{name}"
    validate_name(name, label)
    folder = root / FUNCTIONS_DIR / name
    if folder.exists():
        raise UserError(f"{label}: already exists")
    staging = root / FUNCTIONS_DIR / f".{name}.new"
    for relative, template in _FILES.items():
        path = staging / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(name=name), encoding="utf-8")
    # One rename: an interrupted scaffold leaves only a hidden folder that the build ignores.
    staging.rename(folder)
    return folder
