#!/usr/bin/env python3
"""lambdafleet's command line: `python build.py --help`. The logic lives in the lambdafleet package."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from lambdafleet.cli import main  # noqa: E402  (needs ROOT on sys.path when run from elsewhere)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], ROOT))
