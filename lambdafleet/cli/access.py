"""`build.py access [NAME]`: what each function's role did on the local endpoint, against what it grants."""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

from lambdafleet.errors import UserError

DEFAULT_URL = "http://127.0.0.1:4566"
ACCESS_PATH = "/_lambdafleet/access"  # lambdafleet.endpoint.iam_enforcement.ACCESS_PATH (not imported: moto)
MAX_REPORT_BYTES = 64 * 1024 * 1024


def fetch_report(endpoint_url: str) -> dict[str, Any]:
    """The endpoint's access report; UserError when no `build.py local` answers at `endpoint_url`."""
    url = endpoint_url.rstrip("/") + ACCESS_PATH
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            body = answer.read(MAX_REPORT_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise UserError(
            f"--endpoint-url {endpoint_url}: answered {error.code} at {ACCESS_PATH}: is it `build.py local`?"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise UserError(
            f"--endpoint-url {endpoint_url}: no local endpoint answers ({reason}); start `python build.py local`"
        ) from None
    if len(body) > MAX_REPORT_BYTES:
        raise UserError(f"--endpoint-url {endpoint_url}: the access report is over {MAX_REPORT_BYTES} bytes")
    try:
        report: dict[str, Any] = json.loads(body)
    except ValueError:
        raise UserError(
            f"--endpoint-url {endpoint_url}: {ACCESS_PATH} did not answer JSON: is it `build.py local`?"
        ) from None
    return report


def _text(functions: dict[str, Any]) -> str:
    lines: list[str] = []
    for name, summary in sorted(functions.items()):
        lines.append(f"{name}  (role {summary['role']})")
        lines.append("  calls:")
        for call in summary["calls"]:
            verdict = "allowed" if call["allowed"] else f"DENIED ({call['decision']})"
            lines.append(f"    {verdict:<28} {call['action']} on {call['resource']}  x{call['count']}")
        if summary["unused_grants"]:
            lines.append("  grants never used:")
            lines += [
                f"    {grant['action']} on {grant['resource']}  (policy {grant['policy']})"
                for grant in summary["unused_grants"]
            ]
        else:
            lines.append("  grants never used: none")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    report = fetch_report(args.endpoint_url)
    functions: dict[str, Any] = report.get("functions", {})
    if args.name:
        missing = [name for name in args.name if name not in functions]
        if missing:
            raise UserError(
                f"{', '.join(missing)}: the endpoint at {args.endpoint_url} saw no AWS call from "
                f"{'this function' if len(missing) == 1 else 'these functions'} (invoke it first)"
            )
        functions = {name: functions[name] for name in args.name}
    if args.json:
        print(json.dumps({"functions": functions, "dropped": report.get("dropped", 0)}, indent=2))
    elif functions:
        print(_text(functions))
    else:
        print(f"no function has called AWS through {args.endpoint_url} yet", file=sys.stderr)
    if args.check and any(summary["denied"] or summary["unused_grants"] for summary in functions.values()):
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the access command."""
    summary = "each function's AWS calls seen by `build.py local` (allowed or denied) against its role's grants"
    parser = subparsers.add_parser(
        "access",
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}: denied calls, and grants never used (the basis for "
        "trimming a policy). Reads the running endpoint's record.",
    )
    parser.add_argument("name", nargs="*", metavar="NAME", help="functions to report (default: every one seen)")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.add_argument("--check", action="store_true", help="exit 1 when a call was denied or a grant was never used")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_URL,
        help=f"the `build.py local` endpoint (default $AWS_ENDPOINT_URL, else {DEFAULT_URL})",
    )
    parser.set_defaults(run=_run)
