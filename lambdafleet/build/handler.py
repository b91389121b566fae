"""Check, without importing it, that a function's handler exists where its config says.

Importing would run the user's module-level code (and need its dependencies), so the module is
parsed instead: a missing file, a syntax error, a missing name, an async def, a def that cannot take
(event, context) or a name bound to a literal is caught before anything builds.
"""

import ast
import re
import sys
from pathlib import Path

from lambdafleet.errors import UserError

HANDLER = re.compile(r"(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(?P<function>[A-Za-z_]\w*)")


def _module_file(function_dir: Path, module: str) -> Path | None:
    base = function_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _last_binding(tree: ast.Module, name: str) -> ast.stmt | None:
    """The last top-level statement that binds `name`: the one in force once the module has run."""
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound = {node.name}
        elif isinstance(node, ast.Assign):
            bound = {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            bound = {node.target.id}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            continue
        if name in bound:
            found = node
    return found


def _signature_problem(args: ast.arguments) -> str | None:
    """Why a function with these parameters cannot be called as f(event, context), or None."""
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    if len(positional) < 2 and args.vararg is None:
        return f"takes {len(positional)} positional argument(s); Lambda calls it with (event, context)"
    if required > 2:
        return f"needs {required} arguments; Lambda passes only (event, context)"
    missing = [a.arg for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True) if default is None]
    if missing:
        return f"needs keyword argument '{missing[0]}'; Lambda passes only (event, context)"
    return None


def _binding_problem(node: ast.stmt) -> str | None:
    """Why Lambda could not call what `node` binds, or None when it can (or it cannot be told without running)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
        return None  # a decorator may change the signature or wrap a coroutine: only running it would tell
    if isinstance(node, ast.AsyncFunctionDef):
        return "is async; Lambda's Python runtime calls it without awaiting it, so it must be a plain def"
    if isinstance(node, ast.FunctionDef):
        return _signature_problem(node.args)
    value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
    if isinstance(value, ast.Lambda):
        return _signature_problem(value.args)
    if isinstance(value, ast.Constant | ast.JoinedStr | ast.List | ast.Tuple | ast.Dict | ast.Set):
        return f"is assigned a literal ({ast.unparse(value)[:40]}), not a function"
    return None


def check_handler(
    function_dir: Path,
    handler: str,
    folder_label: str,
    config_source: str,
    runtime: str | None = None,
    stamps: Path | None = None,
) -> None:
    """Raise UserError unless `handler` ('module.function') names a function defined in the folder that
    Lambda can call as f(event, context): a plain def taking two positional arguments, or a name bound to
    something that cannot be judged without running the module (a call's result, an import).

    The module's syntax is judged by `runtime`'s grammar: by the build machine's parser when it is that
    version, else by the runtime's own interpreter (a verdict kept in `stamps`), else not at all, with a warning.
    """
    match = HANDLER.fullmatch(handler)
    if not match:
        raise UserError(f"{config_source}: key 'handler': {handler!r} must look like 'module.function'")
    module_path = _module_file(function_dir, match["module"])
    expected = match["module"].replace(".", "/") + ".py"
    if module_path is None:
        raise UserError(f"{folder_label}{expected}: handler file missing (key 'handler' = {handler!r})")
    label = f"{folder_label}{module_path.relative_to(function_dir).as_posix()}"
    source = module_path.read_bytes()
    own_grammar = runtime is None or runtime == _HOST_RUNTIME
    if not own_grammar:
        from lambdafleet.build.syntax import check_syntax  # only a runtime other than the build machine's

        assert runtime is not None  # own_grammar is True without one
        check_syntax(source, label, runtime, stamps)
    try:
        tree = ast.parse(source, filename=label)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes in the source
        if not own_grammar and _version(runtime) > _HOST_VERSION:
            return  # newer syntax than this machine reads: judged above by the runtime's grammar, or not at all
        line = getattr(exc, "lineno", None)
        where = f" on line {line}" if line else ""
        raise UserError(f"{label}: syntax error{where}: {getattr(exc, 'msg', exc)}") from None
    node = _last_binding(tree, match["function"])
    problem = "is not defined" if node is None else _binding_problem(node)
    if problem:
        raise UserError(f"{label}: handler function '{match['function']}' {problem} (key 'handler')")


def _version(runtime: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in (runtime or "").removeprefix("python").split(".") if part.isdigit())


_HOST_VERSION = sys.version_info[:2]
_HOST_RUNTIME = f"python{_HOST_VERSION[0]}.{_HOST_VERSION[1]}"
