"""Loading a playbook: YAML with line numbers (ruamel.yaml keeps them), validated by pydantic, and
every error mapped back to the line and key that caused it.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from shequn.engine.registry import available_modules
from shequn.playbook.errors import PlaybookError, Problem
from shequn.playbook.schema import Playbook, PlaybookCore


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _locate(root: Any, loc: tuple) -> tuple[int | None, int | None]:
    """1-based (line, column) of the deepest node of ``loc`` that exists in the YAML tree."""
    node = root
    line = col = None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, col = node.lc.key(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
        else:
            break
    if line is None and hasattr(root, "lc"):
        line, col = root.lc.line, root.lc.col
    return (line + 1 if line is not None else None, col + 1 if col is not None else None)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _validation_problems(exc: ValidationError, root: Any, prefix: tuple) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        line, col = _locate(root, loc)
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the example playbook: shequn playbook example)"
        elif err["type"] == "missing":
            message = "required key is missing"
        problems.append(Problem(line, col, _key_path(loc), message))
    return problems


def parse_playbook(text: str, filename: str = "<string>") -> Playbook:
    """Parse and validate playbook text. Raises PlaybookError listing every problem with its line."""
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise PlaybookError(filename, [Problem(line, col, "", f"YAML syntax error: {exc.problem or exc.context}")]) from None
    if root is None:
        raise PlaybookError(filename, [Problem(1, 1, "", "the playbook is empty; it needs at least 'community: <name>'")])
    if not isinstance(root, CommentedMap):
        raise PlaybookError(filename, [Problem(1, 1, "", "a playbook is a mapping of keys (community:, timezone:, ...), not a list or a value")])

    modules = available_modules()
    core_keys = set(PlaybookCore.model_fields)
    problems: list[Problem] = []
    core_data = {k: v for k, v in root.items() if k in core_keys}
    try:
        core = PlaybookCore.model_validate(_plain(core_data))
    except ValidationError as exc:
        core = None
        problems += _validation_problems(exc, root, ())

    configs: dict[str, Any] = {}
    for key in root:
        if key in core_keys:
            continue
        module = modules.get(key)
        if module is None:
            known = sorted(core_keys | set(modules))
            hint = difflib.get_close_matches(str(key), known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(known)}"
            line, col = _locate(root, (key,))
            problems.append(Problem(line, col, str(key), f"unknown key{suggestion}"))
            continue
        try:
            configs[key] = module.Config.model_validate(_plain(root[key]) if root[key] is not None else {})
        except ValidationError as exc:
            problems += _validation_problems(exc, root, (key,))
    if problems or core is None:
        raise PlaybookError(filename, sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
    return Playbook(core=core, modules=configs, source=filename)


def load_playbook(path: str | Path) -> Playbook:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlaybookError(str(path), [Problem(None, None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise PlaybookError(str(path), [Problem(None, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    return parse_playbook(text, str(path))


EXAMPLES = Path(__file__).parent / "examples"
