"""Every user mistake: exit 2, one line naming the file and key, and no zip or manifest written."""

import json
import shutil

import pytest

FIXTURE_LOCK = "six-python3.12-x86_64.txt"


def _toml(text):
    return lambda ws: ws.add_function("fn", config=text)


def _files(files, config=None):
    return lambda ws: ws.add_function("fn", config=config, files=files)


def _handler(source):
    return _files({"lambda_function.py": source})


def _lock(text, requirements_in=None):
    def setup(ws):
        folder = ws.add_function("fn")
        (folder / "requirements.txt").write_text(text)
        if requirements_in is not None:
            (folder / "requirements.in").write_text(requirements_in)

    return setup


def _tampered_hash(ws):
    folder = ws.add_locked_function("fn", FIXTURE_LOCK)
    lock = folder / "requirements.txt"
    text = lock.read_text()
    first_hash = text.split("sha256:")[1][:64]
    lock.write_text(text.replace(first_hash, "0" * 64).replace(text.split("sha256:")[2][:64], "1" * 64))


def _link_outside(ws):
    outside = ws.root.parent / "outside"
    outside.mkdir()
    (outside / "creds.txt").write_text("secret")
    ws.add_function("fn").joinpath("outside_link").symlink_to(outside)


def _two(config_a, config_b=None):
    def setup(ws):
        ws.add_function("fn", config=config_a)
        ws.add_function("other", config=config_b)

    return setup


SIX_PIN = "six==1.16.0 --hash=sha256:" + "a" * 64 + "\n"

CASES = {
    "bad toml": (_toml("runtime = python3.12\n"), "functions/fn/function.toml: invalid TOML"),
    "unknown key": (_toml("memory = 256\n"), "functions/fn/function.toml: key 'memory': unknown key"),
    "memory too small": (_toml("memory_size = 64\n"), "key 'memory_size': must be between 128 and 10240"),
    "memory not int": (_toml('memory_size = "256"\n'), "key 'memory_size': must be an integer"),
    "timeout too long": (_toml("timeout = 901\n"), "key 'timeout': must be between 1 and 900"),
    "ephemeral too big": (_toml("ephemeral_storage = 20000\n"), "key 'ephemeral_storage': must be between 512"),
    "unknown runtime": (_toml('runtime = "python2.7"\n'), "key 'runtime': must be one of python3.10"),
    "unknown architecture": (_toml('architecture = "amd64"\n'), "key 'architecture': must be one of x86_64, arm64"),
    "reserved env var": (
        _toml('[environment]\nAWS_REGION = "eu-west-1"\n'),
        "key 'environment.AWS_REGION': is reserved",
    ),
    "description too long": (
        _toml(f'description = "{"x" * 257}"\n'),
        "functions/fn/function.toml: key 'description': is 257 characters long; Lambda allows 256",
    ),
    "function.toml is a folder": (
        lambda ws: ws.add_function("fn").joinpath("function.toml").mkdir(),
        "functions/fn/function.toml: not a file",
    ),
    "reserved concurrency negative": (
        _toml("reserved_concurrency = -1\n"),
        "functions/fn/function.toml: key 'reserved_concurrency': must be at least 0 (0 throttles every invocation); "
        "got -1",
    ),
    "reserved concurrency not int": (
        _toml('reserved_concurrency = "5"\n'),
        "functions/fn/function.toml: key 'reserved_concurrency': must be an integer, got '5'",
    ),
    "reserved concurrency bool": (
        _toml("reserved_concurrency = true\n"),
        "functions/fn/function.toml: key 'reserved_concurrency': must be an integer, got True",
    ),
    "env value not string": (_toml("[environment]\nDEBUG = true\n"), "key 'environment.DEBUG': must be a string"),
    "bad env name": (_toml('[environment]\n"1X" = "a"\n'), "key 'environment.1X': variable names"),
    "bad route": (_toml('routes = ["FETCH /x"]\n'), "key 'routes': 'FETCH /x' is not a route key"),
    "bad permission": (_toml('permissions = ["table:predictions:admin"]\n'), "key 'permissions': 'table:predictions"),
    "unknown destination key": (
        _toml('[destinations]\non_timeout = "other"\n'),
        "key 'destinations.on_timeout': unknown key",
    ),
    "destination to missing function": (
        _toml('[destinations]\non_success = "ghost"\n'),
        "functions/fn/function.toml: key 'destinations.on_success': no function named 'ghost'",
    ),
    "missing handler file": (_files({}, config='handler = "app.main"\n'), "functions/fn/app.py: handler file missing"),
    "handler not defined": (
        _files({"lambda_function.py": "def handler(event, context):\n    return 1\n"}),
        "functions/fn/lambda_function.py: handler function 'lambda_handler' is not defined",
    ),
    "handler without arguments": (
        _handler("def lambda_handler():\n    return 1\n"),
        "functions/fn/lambda_function.py: handler function 'lambda_handler' takes 0 positional argument(s); "
        "Lambda calls it with (event, context) (key 'handler')",
    ),
    "handler with one argument": (_handler("def lambda_handler(event):\n    return 1\n"), "takes 1 positional"),
    "handler needing three arguments": (
        _handler("def lambda_handler(event, context, extra):\n    return 1\n"),
        "handler function 'lambda_handler' needs 3 arguments",
    ),
    "handler needing a keyword argument": (
        _handler("def lambda_handler(event, context, *, extra):\n    return 1\n"),
        "handler function 'lambda_handler' needs keyword argument 'extra'",
    ),
    "async handler": (
        _handler("async def lambda_handler(event, context):\n    return 1\n"),
        "functions/fn/lambda_function.py: handler function 'lambda_handler' is async",
    ),
    "handler bound to a literal": (
        _handler("lambda_handler = 5\n"),
        "functions/fn/lambda_function.py: handler function 'lambda_handler' is assigned a literal (5), not a function",
    ),
    "handler redefined as a literal": (
        _handler("def lambda_handler(event, context):\n    return 1\n\nlambda_handler = 'x'\n"),
        "handler function 'lambda_handler' is assigned a literal ('x')",
    ),
    "lambda handler without arguments": (_handler("lambda_handler = lambda: 1\n"), "takes 0 positional"),
    "handler syntax error": (
        _files({"lambda_function.py": "def lambda_handler(event, context)\n    return 1\n"}),
        "functions/fn/lambda_function.py: syntax error on line 1",
    ),
    "bad handler string": (_toml('handler = "lambda_function"\n'), "key 'handler': 'lambda_function' must look like"),
    "unpinned requirement": (
        _lock("six>=1.0 --hash=sha256:" + "a" * 64 + "\n"),
        "functions/fn/requirements.txt:1: requirement 'six>=1.0' is not pinned",
    ),
    "requirement without hash": (
        _lock("six==1.16.0\n"),
        "functions/fn/requirements.txt:1: requirement 'six==1.16.0' has no --hash",
    ),
    "unparsable requirement": (
        _lock(SIX_PIN + "!!!garbage\n"),
        "functions/fn/requirements.txt:2: cannot parse requirement '!!!garbage': Expected package name",
    ),
    "editable in lock": (_lock("-e ./src\n"), "functions/fn/requirements.txt:1: option '-e' is not allowed"),
    "lock missing": (
        lambda ws: (ws.add_function("fn"), (ws.root / "functions/fn/requirements.in").write_text("six\n")),
        "functions/fn/requirements.txt: missing; run: python build.py lock fn",
    ),
    "stale lock": (_lock(SIX_PIN, requirements_in="six\nrequests\n"), "functions/fn/requirements.txt: out of date"),
    "lock for other target": (
        _lock("# lambdafleet-lock: python3.11 arm64\n" + SIX_PIN),
        "functions/fn/requirements.txt: locked for python3.11 arm64 but function.toml targets python3.12 x86_64",
    ),
    "hash mismatch": (_tampered_hash, "functions/fn/requirements.txt: hash mismatch for six==1.16.0"),
    "name clash by case": (
        lambda ws: (ws.add_function("fn"), ws.add_function("FN")),
        "name clashes with functions/",
    ),
    "invalid folder name": (lambda ws: ws.add_function("bad.name"), "functions/bad.name: invalid function name"),
    "folder name starting with a dash": (
        lambda ws: ws.add_function("-dash"),
        "functions/-dash: invalid function name '-dash': use letters, digits, '-', '_', starting with a letter",
    ),
    "folder name starting with an underscore": (lambda ws: ws.add_function("_x"), "functions/_x: invalid function"),
    "reserved function name": (lambda ws: ws.add_function("list"), "functions/list: function name 'list' is reserved"),
    "duplicate route": (
        _two('routes = ["GET /x"]\n', 'routes = ["GET /x"]\n'),
        "functions/other/function.toml: key 'routes': 'GET /x' is already served by fn",
    ),
    "source shadows a dependency": (
        lambda ws: (ws.add_locked_function("fn", FIXTURE_LOCK), (ws.root / "functions/fn/six.py").write_text("")),
        "functions/fn/six.py: clashes with 'six.py' installed from requirements.txt",
    ),
    "marker in lock": (
        _lock("six==1.16.0 ; python_version >= '3.12' --hash=sha256:" + "a" * 64 + "\n"),
        "functions/fn/requirements.txt:1: requirement \"six==1.16.0 ; python_version >= '3.12'\" has an "
        "environment marker",
    ),
    "lock not utf-8": (
        lambda ws: (ws.add_function("fn"), (ws.root / "functions/fn/requirements.txt").write_bytes(b"six\xff\n")),
        "functions/fn/requirements.txt: not UTF-8 text",
    ),
    "handler excluded from the zip": (
        _files(
            {"main_test.py": "def lambda_handler(event, context):\n    return 1\n"},
            'handler = "main_test.lambda_handler"\n',
        ),
        "functions/fn/function.toml: key 'handler': main_test.py is excluded from the zip",
    ),
    "dangling symlink": (
        lambda ws: ws.add_function("fn").joinpath("data.bin").symlink_to("/nonexistent/data.bin"),
        "functions/fn/data.bin: broken symlink (points to /nonexistent/data.bin)",
    ),
    "symlink to a host file": (
        lambda ws: ws.add_function("fn").joinpath("passwd_link").symlink_to("/etc/passwd"),
        "functions/fn/passwd_link: symlink points outside the project (to /etc/passwd)",
    ),
    "symlinked folder outside the project": (_link_outside, "functions/fn/outside_link: symlink points outside"),
    "symlink out of a shared library": (
        lambda ws: (
            ws.add_function("fn", config='shared = ["common"]\n'),
            (ws.root / "lib/common").mkdir(parents=True),
            (ws.root / "lib/common/passwd").symlink_to("/etc/passwd"),
        ),
        "lib/common/passwd: symlink points outside the project (to /etc/passwd)",
    ),
    "handler with NUL bytes": (
        _files({"lambda_function.py": "def lambda_handler(e, c):\n    return '\0'\n\0"}),
        "functions/fn/lambda_function.py: syntax error",
    ),
    "chains not a table": (
        lambda ws: (ws.add_function("fn"), (ws.root / "functions/chains.toml").write_text("chains = 5\n")),
        "functions/chains.toml: key 'chains': must be tables",
    ),
    "chain to missing function": (
        lambda ws: (
            ws.add_function("fn"),
            (ws.root / "functions/chains.toml").write_text('[chains.flow]\nsteps = ["fn", "ghost"]\n'),
        ),
        "functions/chains.toml: key 'chains.flow.steps': no function named 'ghost'",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(workspace, case):
    setup, expected = CASES[case]
    setup(workspace)
    result = workspace.cli("all")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    build = workspace.root / "build"
    assert not build.exists() or not any(build.glob("*.zip"))
    assert not (build / "manifest.json").exists()


def test_failed_rebuild_leaves_previous_zip_and_manifest_untouched(workspace):
    workspace.add_function("fn")
    assert workspace.cli("all").returncode == 0
    zip_bytes = (workspace.root / "build/fn.zip").read_bytes()
    manifest = (workspace.root / "build/manifest.json").read_bytes()
    (workspace.root / "functions/fn/function.toml").write_text("timeout = 0\n")
    result = workspace.cli("all")
    assert result.returncode == 2
    assert (workspace.root / "build/fn.zip").read_bytes() == zip_bytes
    assert (workspace.root / "build/manifest.json").read_bytes() == manifest
    assert not list((workspace.root / "build").rglob("*.tmp"))  # no temp file left behind


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ghost"], "functions/ghost: no such function"),
        (["all", "-j", "0"], "-j takes a whole number"),
        (["all", "--upload", "http://bucket/x"], "--upload: 'http://bucket/x' is not s3://"),
        (["new", "bad name"], "invalid function name"),
    ],
)
def test_bad_command_line_exits_2_with_one_line(workspace, args, expected):
    workspace.add_function("fn")
    result = workspace.cli(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


def test_unparsable_requirements_in_is_one_line_when_locking(workspace):
    workspace.add_function("fn").joinpath("requirements.in").write_text("six\n!!!garbage\n")
    result = workspace.cli("lock", "fn")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: functions/fn/requirements.in:2: cannot parse requirement '!!!garbage': "
        "Expected package name at the start of dependency specifier"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "def lambda_handler(event, context, retries=3, *, verbose=False):\n    return event\n",
        "def lambda_handler(*args):\n    return args[0]\n",
        "def lambda_handler(event, /, *rest):\n    return event\n",
        "lambda_handler = lambda event, context: event\n",
        "def make():\n    return lambda event, context: event\n\n\nlambda_handler = make()\n",
        "from json import loads as lambda_handler\n",  # wrong, but only running it would tell
        "import functools\n\n\n@functools.lru_cache\nasync def lambda_handler():\n    return 1\n",
        "async def lambda_handler(e, c):\n    return 1\n\n\ndef lambda_handler(e, c):\n    return 2\n",
    ],
    ids=["defaults", "varargs", "positional-only", "lambda", "factory", "import", "decorated", "redefined"],
)
def test_handlers_lambda_can_call_or_that_need_running_to_judge_pass(workspace, source):
    workspace.add_function("fn", files={"lambda_function.py": source})
    result = workspace.cli("fn")
    assert result.returncode == 0, result.stderr


def test_description_of_lambdas_maximum_length_builds(workspace):
    workspace.add_function("fn", config=f'description = "{"x" * 256}"\n')
    result = workspace.cli("fn")
    assert result.returncode == 0, result.stderr
    assert workspace.manifest()["functions"]["fn"]["description"] == "x" * 256


def test_missing_functions_folder_is_a_user_error(workspace):
    shutil.rmtree(workspace.root / "functions")
    result = workspace.cli("all")
    assert result.returncode == 2
    assert "functions/: folder missing" in result.stderr


@pytest.mark.stack  # slow end to end: a build and an invocation in new processes
def test_a_broken_handler_elsewhere_does_not_block_building_or_invoking_this_function(workspace):
    workspace.add_function("good")
    workspace.add_function("broken", files={"lambda_function.py": "def lambda_handler(event, context)\n"})
    assert workspace.cli("good").returncode == 0
    invoked = workspace.run("invoke", "good", "--payload", '{"ok": 1}')
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"ok": 1}
    everything = workspace.cli("all")
    assert everything.returncode == 2
    assert "functions/broken/lambda_function.py: syntax error on line 1" in everything.stderr
