"""Members deflated in parallel give the bytes zipfile's own writer gives: zips stay identical to earlier builds'."""

import os
import random
import stat
import zipfile
from pathlib import Path

from lambdafleet.build.archive import COMPRESS_LEVEL, FIXED_DATE, Entry, write_archive


def _zipfile_writer(dest: Path, entries: list[Entry], base: Path | None = None) -> None:
    """The writer the build used before (ZipFile.writestr per member): the oracle."""
    if base is not None:
        dest.write_bytes(base.read_bytes())
    with zipfile.ZipFile(dest, "a" if base is not None else "w") as archive:
        for entry in sorted(entries, key=lambda e: e.name):
            info = zipfile.ZipInfo(entry.name, date_time=FIXED_DATE)
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | (0o755 if entry.executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.path.read_bytes(), compresslevel=COMPRESS_LEVEL)


def _files(folder: Path, count: int) -> list[Entry]:
    generator = random.Random(7)
    folder.mkdir(parents=True)
    contents = {
        "empty.txt": b"",
        "small.py": b"def lambda_handler(event, context):\n    return event\n",
        "compressible.txt": b"lambdafleet " * 200_000,
        "noise.bin": generator.randbytes(700_000),
        "caf\u00e9/\u00fcber.py": "print('\u00e9')\n".encode(),
        "bin/tool": b"#!/bin/sh\necho tool\n",
    }
    contents |= {f"pkg/module_{index:03}.py": generator.randbytes(index * 37) * 3 for index in range(count)}
    entries = []
    for name, data in contents.items():
        path = folder / name.replace("/", "__")
        path.write_bytes(data)
        if name == "bin/tool":
            os.chmod(path, 0o755)
        entries.append(Entry(name, path))
    return entries


def test_a_new_archive_is_byte_identical_to_zipfile_writestr(tmp_path: Path) -> None:
    entries = _files(tmp_path / "files", 150)  # more members than one batch
    write_archive(tmp_path / "ours.zip", entries)
    _zipfile_writer(tmp_path / "oracle.zip", entries)
    assert (tmp_path / "ours.zip").read_bytes() == (tmp_path / "oracle.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "ours.zip") as archive:
        assert archive.testzip() is None
        assert archive.read("compressible.txt") == b"lambdafleet " * 200_000


def test_extending_a_dependency_archive_is_byte_identical_too(tmp_path: Path) -> None:
    dependencies = _files(tmp_path / "deps", 20)
    sources = [Entry("lambda_function.py", tmp_path / "handler.py")]
    sources[0].path.write_text("def lambda_handler(event, context):\n    return 1\n")
    write_archive(tmp_path / "deps.zip", dependencies)
    write_archive(tmp_path / "ours.zip", sources, base=tmp_path / "deps.zip")
    _zipfile_writer(tmp_path / "oracle.zip", sources, base=tmp_path / "deps.zip")
    assert (tmp_path / "ours.zip").read_bytes() == (tmp_path / "oracle.zip").read_bytes()
