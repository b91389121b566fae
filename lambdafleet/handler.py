"""Check, without importing it, that a function's handler exists where its config says.

Importing would run the user's module-level code (and need its dependencies), so the module is
parsed instead: a missing file, a syntax error or a missing name is caught before anything builds.
"""

import ast
import re
from pathlib import Path

from lambdafleet.errors import UserError

HANDLER = re.compile(r"(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(?P<function>[A-Za-z_]\w*)")


def _module_file(function_dir: Path, module: str) -> Path | None:
    base = function_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def check_handler(function_dir: Path, handler: str, folder_label: str, config_source: str) -> None:
    """Raise UserError unless `handler` ('module.function') names a function defined in the folder."""
    match = HANDLER.fullmatch(handler)
    if not match:
        raise UserError(f"{config_source}: key 'handler': {handler!r} must look like 'module.function'")
    module_path = _module_file(function_dir, match["module"])
    expected = match["module"].replace(".", "/") + ".py"
    if module_path is None:
        raise UserError(f"{folder_label}{expected}: handler file missing (key 'handler' = {handler!r})")
    label = f"{folder_label}{module_path.relative_to(function_dir).as_posix()}"
    try:
        tree = ast.parse(module_path.read_bytes(), filename=label)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes in the source
        where = f" on line {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise UserError(f"{label}: syntax error{where}: {getattr(exc, 'msg', exc)}") from None
    if match["function"] not in _top_level_names(tree):
        raise UserError(f"{label}: handler function '{match['function']}' is not defined (key 'handler')")
