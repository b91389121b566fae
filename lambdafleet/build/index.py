"""What a package index publishes: which versions of a project have a wheel a Lambda target can load.

Asked only when an install finds no wheel for a pinned version, to tell a compiled project (refused at once,
naming the nearest version that has a wheel) from a pure-Python one whose sdist may build. Reads the index's
PEP 691 JSON, bounded in size and time.
"""

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lambdafleet.build.platforms import Target
from lambdafleet.errors import BuildError, UserError

DEFAULT_INDEX = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json"
_MAX_BYTES = 64 * 1024 * 1024  # numpy's page is a few MB
_TIMEOUT = 30


@dataclass(frozen=True)
class Project:
    """The wheels a project publishes: version -> the tag sets of its wheels."""

    name: str
    wheels: dict[str, list[frozenset[str]]]

    @property
    def has_platform_wheels(self) -> bool:
        """Whether any wheel is compiled for a platform (so the project is not pure Python)."""
        return any(not tag.endswith("-any") for tag_sets in self.wheels.values() for tags in tag_sets for tag in tags)

    def versions_for(self, target: Target) -> list[str]:
        """Final versions with a wheel `target` can load."""
        return [v for v, tag_sets in self.wheels.items() if any(tags & target.supported_tags for tags in tag_sets)]

    def nearest_for(self, target: Target, version: str) -> str | None:
        """The newest version up to `version` with a wheel for `target`, else the oldest one after it."""
        from packaging.version import Version

        pinned = Version(version)
        candidates = sorted(Version(v) for v in self.versions_for(target) if not Version(v).is_prerelease)
        older = [v for v in candidates if v <= pinned]
        newer = [v for v in candidates if v > pinned]
        best = older[-1] if older else (newer[0] if newer else None)
        return str(best) if best else None


def index_url(lock_path: Path) -> str:
    """The index the lock names (`--index-url`/`-i`), else uv's environment setting, else PyPI."""
    for line in lock_path.read_text(encoding="utf-8").splitlines():
        parts = line.replace("=", " ", 1).split() if line.startswith("--index-url") else line.split()
        if len(parts) >= 2 and parts[0] in ("--index-url", "-i"):
            return parts[1]
    return os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or DEFAULT_INDEX


def fetch_project(index: str, name: str) -> Project | None:
    """The project's wheels on `index`; None when the index does not know it. BuildError when unreachable."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    url = f"{index.rstrip('/')}/{name}/"
    request = urllib.request.Request(url, headers={"Accept": _ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            body = response.read(_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise BuildError(f"package index {index} answered {exc.code} for {name}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BuildError(f"cannot reach the package index {index} ({reason})") from None
    if len(body) > _MAX_BYTES:
        raise BuildError(f"package index {index}: the page of {name} is over {_MAX_BYTES // 1024 // 1024} MB")
    try:
        files = json.loads(body)["files"]
    except (ValueError, KeyError, TypeError):
        return None  # not a PEP 691 index: nothing to judge with, so the install decides
    wheels: dict[str, list[frozenset[str]]] = {}
    for entry in files:
        filename = entry.get("filename", "") if isinstance(entry, dict) else ""
        if not filename.endswith(".whl") or entry.get("yanked"):
            continue
        try:
            _, version, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        wheels.setdefault(str(version), []).append(frozenset(str(tag) for tag in tags))
    return Project(name, wheels)


def refuse_compiled_without_wheel(label: str, index: str, target: Target, name: str, version: str) -> None:
    """Raise UserError when `name` publishes compiled wheels but none of `version` fits `target`.

    Its sdist would compile for this machine (for many minutes, with numpy) and be refused after all.
    A project with no compiled wheels at all may be pure Python: its sdist is given its chance.
    """
    project = fetch_project(index, name)
    if project is None or not project.has_platform_wheels or version in project.versions_for(target):
        return
    nearest = project.nearest_for(target, version)
    advice = (
        f"the nearest version with one is {nearest}: pin {name}=={nearest} in requirements.in, then run: "
        "python build.py lock"
        if nearest
        else f"no version of {name} publishes one"
    )
    raise UserError(
        f"{label}: {name}=={version} has no wheel for {target} (tags tried: {target.describe_tags()}); {name} ships "
        f"compiled wheels, so its sdist would not run on Lambda; {advice}"
    )
