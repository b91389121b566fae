"""functions/api.toml and function.toml's function_url: what they put in the manifest, and every mistake as one
line naming the file and key (exit 2, no manifest)."""

import pytest

API = """
[cors]
allow_origins = ["http://localhost:8000"]
allow_methods = ["get", "PUT"]
allow_headers = ["Authorization"]

[throttling]
rate_limit = 5
burst_limit = 2

[authorizers.users]
type = "jwt"
audience = ["app"]

[authorizers.gate]
type = "lambda"
function = "gate"
result_ttl = 60

[routes."PUT /items/{id}"]
authorization = "users"
scopes = ["items/write"]

[routes."GET /items"]
authorization = "gate"
throttling = { rate_limit = 1, burst_limit = 1 }
"""


def _project(ws, api: str, items_config: str = 'routes = ["GET /items", "PUT /items/{id}"]\n') -> None:
    ws.add_function("items", config=items_config)
    ws.add_function("gate")
    (ws.root / "functions" / "api.toml").write_text(api)


def test_api_toml_and_function_url_reach_the_manifest(workspace) -> None:
    _project(workspace, API, 'routes = ["GET /items", "PUT /items/{id}"]\nfunction_url = { auth_type = "NONE" }\n')
    result = workspace.run("all", "--quiet")
    assert result.returncode == 0, result.stderr
    manifest = workspace.manifest()
    api = manifest["api"]
    assert api["cors"]["allow_methods"] == ["GET", "PUT"] and api["cors"]["allow_headers"] == ["authorization"]
    assert api["throttling"] == {"rate_limit": 5.0, "burst_limit": 2}
    assert api["authorizers"]["users"] == {
        "type": "jwt",
        "issuer": "https://local-issuer.lambdafleet.invalid",
        "audience": ["app"],
        "identity_sources": ["$request.header.Authorization"],
    }
    assert api["authorizers"]["gate"]["function"] == "gate" and api["authorizers"]["gate"]["result_ttl"] == 60
    assert api["routes"]["PUT /items/{id}"] == {"authorization": "users", "scopes": ["items/write"], "throttling": None}
    assert manifest["functions"]["items"]["function_url"] == {"auth_type": "NONE", "cors": None}
    assert manifest["functions"]["gate"]["function_url"] is None


@pytest.mark.parametrize(
    ("api", "message"),
    [
        ("[cors]\nallow_origin = []\n", "functions/api.toml: key 'cors.allow_origin': unknown key"),
        ('[cors]\nallow_methods = ["FETCH"]\n', "functions/api.toml: key 'cors.allow_methods': 'FETCH' is not one of"),
        ('[routes."GET /nope"]\n', """functions/api.toml: key 'routes."GET /nope"': no function declares this route"""),
        (
            '[routes."GET /items"]\nauthorization = "ghost"\n',
            """functions/api.toml: key 'routes."GET /items".authorization': 'ghost' is not one of NONE, AWS_IAM""",
        ),
        (
            '[routes."GET /items"]\nscopes = ["a"]\n',
            """functions/api.toml: key 'routes."GET /items".scopes': scopes need a jwt authorizer""",
        ),
        ('[authorizers.x]\ntype = "jwt"\n', "functions/api.toml: key 'authorizers.x.audience': must list at least one"),
        (
            '[authorizers.x]\ntype = "jwt"\nissuer = "http://plain"\naudience = ["a"]\n',
            "functions/api.toml: key 'authorizers.x.issuer': must be 'local'",
        ),
        ('[authorizers.x]\ntype = "lambda"\nfunction = "nope"\n', "functions/api.toml: key 'authorizers.x.function'"),
        ("[throttling]\nburst_limit = -1\n", "functions/api.toml: key 'throttling.burst_limit'"),
    ],
)
def test_api_toml_mistakes_are_one_line_user_errors(workspace, api: str, message: str) -> None:
    _project(workspace, api)
    result = workspace.cli("all", "--quiet")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().startswith(f"error: {message}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (workspace.root / "build" / "manifest.json").exists()


def test_a_function_url_auth_type_is_checked(workspace) -> None:
    workspace.add_function("fn", config='function_url = { auth_type = "OPEN" }\n')
    result = workspace.cli("all", "--quiet")
    assert result.returncode == 2
    assert "functions/fn/function.toml: key 'function_url.auth_type': must be NONE or AWS_IAM" in result.stderr


def test_token_needs_an_audience_when_api_toml_names_none(workspace) -> None:
    workspace.add_function("fn")
    result = workspace.cli("token")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --audience: needed, functions/api.toml has no jwt authorizer")
    minted = workspace.cli("token", "--audience", "x", "--scope", "a b")
    assert minted.returncode == 0 and minted.stdout.count(".") == 2
