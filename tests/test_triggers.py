"""`triggers` in function.toml and functions/resources.toml: valid declarations reach the manifest with AWS's
defaults; each mistake is one line naming the file and key, from `check`, before anything is built."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lambdafleet.build import schedule_expression
from lambdafleet.build.project import load_project
from lambdafleet.errors import UserError

RESOURCES = """
[queues.jobs]
visibility_timeout = 60
max_receive_count = 3

[queues.orders]
fifo = true

[queues.failures]

[topics.alerts]

[streams.clicks]

[buses.shop]
"""


def _project(tmp_path: Path, config: str, resources: str = RESOURCES) -> dict:
    folder = tmp_path / "functions" / "fn"
    folder.mkdir(parents=True)
    (folder / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return event\n")
    (folder / "function.toml").write_text(config)
    (tmp_path / "functions" / "resources.toml").write_text(resources)
    return load_project(tmp_path)


def test_every_kind_resolves_with_aws_defaults(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
triggers = [
  { type = "sqs", queue = "jobs", report_batch_item_failures = true, filters = [{ body = { kind = ["job"] } }] },
  { type = "sqs", queue = "orders", batch_size = 5 },
  { type = "dynamodb_stream", table = "items", bisect_batch_on_function_error = true, on_failure = "queue:failures" },
  { type = "kinesis", stream = "clicks", starting_position = "LATEST" },
  { type = "sns", topic = "alerts", filter_policy = { severity = ["high"] } },
  { type = "eventbridge", bus = "shop", pattern = { source = ["shop"] } },
  { type = "schedule", name = "nightly", expression = "cron(0 3 * * ? *)", input = { job = "cleanup" } },
  { type = "s3", bucket = "uploads", suffix = ".jpg" },
]
""",
    )
    triggers = project.functions["fn"].to_manifest()["triggers"]
    assert [t["name"] for t in triggers] == [
        "jobs",
        "orders",
        "items",
        "clicks",
        "alerts",
        "rule",
        "nightly",
        "uploads",
    ]
    assert triggers[0]["batch_size"] == 10 and triggers[0]["maximum_batching_window"] == 0
    assert triggers[2]["batch_size"] == 100 and triggers[2]["maximum_retry_attempts"] == -1
    assert triggers[7]["events"] == ["s3:ObjectCreated:*"]
    assert project.resources["queues"]["jobs"] == {
        "name": "jobs",
        "fifo": False,
        "content_based_deduplication": False,
        "visibility_timeout": 60,
        "message_retention": 345600,
        "delay": 0,
        "max_receive_count": 3,
    }
    assert project.resources["buses"] == {"shop": {"name": "shop"}}


ERRORS = {
    "unknown queue": (
        '[[triggers]]\ntype = "sqs"\nqueue = "nope"\n',
        "functions/fn/function.toml: key 'triggers[0].queue': no queue 'nope' in functions/resources.toml",
    ),
    "batch over the limit": (
        '[[triggers]]\ntype = "sqs"\nqueue = "jobs"\nbatch_size = 20000\nmaximum_batching_window = 5\n',
        "key 'triggers[0].batch_size': must be between 1 and 10000; got 20000",
    ),
    "batch over 10 without a window": (
        '[[triggers]]\ntype = "sqs"\nqueue = "jobs"\nbatch_size = 50\n',
        "key 'triggers[0].batch_size': over 10 needs maximum_batching_window",
    ),
    "window on a fifo queue": (
        '[[triggers]]\ntype = "sqs"\nqueue = "orders"\nmaximum_batching_window = 5\n',
        "key 'triggers[0].maximum_batching_window': queue 'orders' is FIFO",
    ),
    "visibility under the timeout": (
        'timeout = 90\n[[triggers]]\ntype = "sqs"\nqueue = "jobs"\n',
        "queue 'jobs' has visibility_timeout 60 s, less than the function's timeout 90 s",
    ),
    "invalid cron": (
        '[[triggers]]\ntype = "schedule"\nexpression = "cron(0 3 * * * *)"\n',
        "key 'triggers[0].expression': 'cron(0 3 * * * *)': exactly one of day-of-month and day-of-week must be '?'",
    ),
    "invalid rate": (
        '[[triggers]]\ntype = "schedule"\nexpression = "rate(1 minutes)"\n',
        "key 'triggers[0].expression': 'rate(1 minutes)': write '1 minute' for one",
    ),
    "unknown kind": ('[[triggers]]\ntype = "kafka"\n', "key 'triggers[0].type': must be one of sqs,"),
    "unknown key": (
        '[[triggers]]\ntype = "sns"\ntopic = "alerts"\nbatch_size = 3\n',
        "key 'triggers[0].batch_size': unknown key for a sns trigger",
    ),
    "missing source": ('[[triggers]]\ntype = "kinesis"\n', "key 'triggers[0].stream': is required"),
    "undeclared on_failure": (
        '[[triggers]]\ntype = "kinesis"\nstream = "clicks"\non_failure = "queue:gone"\n',
        "key 'triggers[0].on_failure': no queue 'gone'",
    ),
    "record age": (
        '[[triggers]]\ntype = "kinesis"\nstream = "clicks"\nmaximum_record_age = 10\n',
        "key 'triggers[0].maximum_record_age': must be -1 (no limit) or between 60 and 604800",
    ),
    "pattern leaf not a list": (
        '[[triggers]]\ntype = "eventbridge"\npattern = { source = "shop" }\n',
        "key 'triggers[0].pattern.source': must be a list of values to match",
    ),
    "unknown bus": (
        '[[triggers]]\ntype = "eventbridge"\nbus = "nobus"\npattern = { source = ["shop"] }\n',
        "key 'triggers[0].bus': no bus 'nobus'",
    ),
    "same name twice": (
        '[[triggers]]\ntype = "sqs"\nqueue = "jobs"\n[[triggers]]\ntype = "sqs"\nqueue = "jobs"\n',
        "key 'triggers[1].name': 'jobs' is used twice",
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_bad_trigger_is_one_line(tmp_path: Path, case: str) -> None:
    config, expected = ERRORS[case]
    with pytest.raises(UserError) as error:
        _project(tmp_path, config)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (
            "[queues.jobs]\nvisibility_timeout = 50000\n",
            "functions/resources.toml: key 'queues.jobs.visibility_timeout'",
        ),
        ("[queues.jobs]\ncontent_based_deduplication = true\n", "only a FIFO queue"),
        ("[tables.items]\n", "functions/resources.toml: key 'tables': unknown key"),
        ("[buses.default]\n", "the default bus always exists"),
    ],
)
def test_bad_declaration_is_one_line(tmp_path: Path, resources: str, expected: str) -> None:
    with pytest.raises(UserError) as error:
        _project(tmp_path, "", resources)
    assert expected in str(error.value)


def test_check_exits_2_before_building(workspace) -> None:
    workspace.add_function("fn", config='[[triggers]]\ntype = "sqs"\nqueue = "nope"\n')
    result = workspace.cli("check")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: functions/fn/function.toml: key 'triggers[0].queue': no queue 'nope' in functions/resources.toml "
        "(declared: none)"
    ]
    assert not (workspace.root / "build").exists()


def test_manifest_carries_triggers_and_declarations(workspace) -> None:
    (workspace.root / "functions" / "resources.toml").write_text("[queues.jobs]\nmax_receive_count = 2\n")
    workspace.add_function("fn", config='[[triggers]]\ntype = "sqs"\nqueue = "jobs"\n')
    result = workspace.run("all", "--quiet")
    assert result.returncode == 0, result.stderr
    manifest = workspace.manifest()
    assert manifest["queues"]["jobs"]["max_receive_count"] == 2
    assert manifest["topics"] == {} and manifest["streams"] == {} and manifest["buses"] == {}
    assert manifest["functions"]["fn"]["triggers"][0]["queue"] == "jobs"


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(5 minutes)", "2026-01-01T00:00:30", "2026-01-01T00:05:30"),
        ("cron(0 3 * * ? *)", "2026-01-01T04:00:00", "2026-01-02T03:00:00"),
        ("cron(15 10 ? * MON-FRI *)", "2026-01-02T11:00:00", "2026-01-05T10:15:00"),  # Friday -> Monday
        ("cron(0 0 L * ? *)", "2026-02-01T00:00:00", "2026-02-28T00:00:00"),
        ("cron(0/15 * * * ? *)", "2026-01-01T00:07:00", "2026-01-01T00:15:00"),
        ("cron(0 12 ? * 6#3 *)", "2026-01-01T00:00:00", "2026-01-16T12:00:00"),  # third Friday
        ("cron(0 0 30 2 ? *)", "2026-01-01T00:00:00", None),
    ],
)
def test_schedule_fire_times(expression: str, after: str, expected: str | None) -> None:
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    fire = schedule_expression.parse(expression).next_after(moment)
    assert (fire.isoformat() if fire else None) == (f"{expected}+00:00" if expected else None)
