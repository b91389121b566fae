"""A damaged cache never yields a different zip with exit 0: it is detected, discarded and rebuilt.

Every file the build keeps between runs (dependency archives, their size records, checked-lock stamps, zip
stamps) gets single-byte damage, truncation or emptying; the next build must give the same bytes as before,
or fail with one line.
"""

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack  # slow end to end: a full build per kind of damage to each cache file

FIXTURE_LOCK = "six-python3.12-x86_64.txt"


def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty_object(path: Path) -> None:
    path.write_text("{}")


DAMAGE = {"flip": _flip_middle_byte, "truncate": _truncate_half, "empty-object": _empty_object}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A workspace built once (a function with a dependency); its cache and build/ are copied per case."""
    from tests.conftest import Workspace

    base = tmp_path_factory.mktemp("pristine")
    workspace = Workspace(base / "repo", base / "cache")
    workspace.add_locked_function("fn", FIXTURE_LOCK, config='runtime = "python3.12"\n')
    result = workspace.run("all", "--quiet")
    assert result.returncode == 0, result.stderr
    return workspace


def _cache_files(root: Path, cache: Path) -> list[str]:
    files = [p for p in cache.rglob("*") if p.is_file()]
    files += [p for p in (root / "build" / ".stamps").rglob("*") if p.is_file()]
    return sorted(p.relative_to(root.parent).as_posix() for p in files)


def _kinds(pristine) -> list[str]:
    return [Path(name).parent.name for name in _cache_files(pristine.root, pristine.cache_dir)]


def test_every_kind_of_cache_file_is_covered(pristine):
    kinds = set(_kinds(pristine))
    # checked-syntax: verdicts of the runtime's own interpreter, when the build machine runs another version
    assert {".stamps", "checked-locks", "deps"} <= kinds <= {".stamps", "checked-locks", "checked-syntax", "deps"}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize(
    "kind", ["deps/*.zip", "deps/*.json", "checked-locks/*", "checked-syntax/*", "build/.stamps/*"]
)
def test_damaged_cache_file_gives_the_same_zip_or_one_line(pristine, make_workspace, tmp_path, kind, damage):
    base = pristine.root.parent
    shutil.copytree(base, tmp_path / "copy", symlinks=True)
    workspace = make_workspace.existing(tmp_path / "copy" / "repo", tmp_path / "copy" / "cache")
    reference = (pristine.root / "build" / "fn.zip").read_bytes()
    where = workspace.root if kind.startswith("build/") else workspace.cache_dir
    targets = sorted(where.glob(kind))
    if not targets and kind.startswith("checked-syntax"):
        pytest.skip("the build machine runs python3.12 itself: no syntax verdicts to damage")
    assert targets, kind
    for target in targets:
        DAMAGE[damage](target)
    for args in (("fn",), ("fn", "--force")):
        result = workspace.run(*args)
        if result.returncode == 0:
            built = (workspace.root / "build" / "fn.zip").read_bytes()
            assert built == reference, f"{kind} {damage} {args}: a different zip with exit 0\n{result.stderr}"
            assert workspace.manifest()["functions"]["fn"] == pristine.manifest()["functions"]["fn"]
        else:
            assert result.stderr.count("\n") == 1, result.stderr
