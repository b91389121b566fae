"""build.py up's watch mode, its decisions: which functions a change touches, and whether it is code only."""

import time
from pathlib import Path

from lambdafleet.dev.watch import affected_names, changed_paths, code_only, snapshot

ENTRY = {
    "name": "fn",
    "runtime": "python3.12",
    "package_type": "zip",
    "timeout": 3,
    "sha256": "a",
    "source_code_hash": "A",
    "build_key": "k1",
    "size": 10,
    "unzipped_size": 20,
    "zip": "fn.zip",
    "s3": None,
}


def test_a_new_zip_alone_is_code_only() -> None:
    rebuilt = {**ENTRY, "sha256": "b", "source_code_hash": "B", "build_key": "k2", "size": 11, "unzipped_size": 21}
    assert code_only(ENTRY, rebuilt)


def test_a_setting_a_new_function_or_an_image_is_terraforms() -> None:
    assert not code_only(ENTRY, {**ENTRY, "sha256": "b", "timeout": 10})
    assert not code_only(None, ENTRY)
    assert not code_only({**ENTRY, "package_type": "image"}, {**ENTRY, "package_type": "image", "sha256": "b"})


def test_changes_map_to_their_functions_or_to_everything() -> None:
    known = {"a", "b"}
    assert affected_names({"functions/a/lambda_function.py", "functions/b/x/y.py"}, known) == ["a", "b"]
    assert affected_names({"functions/a/lambda_function.py", "lib/common/u.py"}, known) is None
    assert affected_names({"functions/chains.toml"}, known) is None
    assert affected_names({"functions/new/lambda_function.py"}, known) is None


def test_snapshot_sees_edits_additions_and_removals_but_not_caches(tmp_path: Path) -> None:
    handler = tmp_path / "functions" / "a" / "lambda_function.py"
    handler.parent.mkdir(parents=True)
    handler.write_text("x = 1\n")
    (tmp_path / "functions" / "a" / "__pycache__").mkdir()
    (tmp_path / "functions" / "a" / "__pycache__" / "m.pyc").write_bytes(b"")
    before = snapshot(tmp_path)
    assert set(before) == {"functions/a/lambda_function.py"}
    time.sleep(0.01)
    handler.write_text("x = 22\n")
    (tmp_path / "functions" / "a" / "extra.py").write_text("")
    after = snapshot(tmp_path)
    assert changed_paths(before, after) == {"functions/a/lambda_function.py", "functions/a/extra.py"}
    handler.unlink()
    assert "functions/a/lambda_function.py" in changed_paths(after, snapshot(tmp_path))
