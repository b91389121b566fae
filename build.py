#!/usr/bin/env python3
"""lambdafleet's command line: `python build.py --help`. The logic lives in the lambdafleet package."""

import sys

if __name__ == "__main__" and sys.argv[1:2] == ["invoke"]:
    # A repeated `build.py invoke` is mostly start-up: its warm server parses, checks the build and invokes, and
    # this process imports nothing else unless the server leaves the command to it (lambdafleet/runtime/warm.py).
    import os

    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    from lambdafleet.runtime.warm import run_command

    code = run_command(sys.argv[1:], sys.path[0])
    if code is not None:
        sys.exit(code)
    del sys.path[0]  # put back below, with the rest of the command line

from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from lambdafleet.cli import main  # noqa: E402  (needs ROOT on sys.path when run from elsewhere)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], ROOT))
