"""Playbook problems that point at the file, line and key an operator has to fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    line: int | None  # 1-based
    column: int | None  # 1-based
    key: str  # dotted path, e.g. "welcome.template" or "groups[2].kind"
    message: str

    def format(self, filename: str) -> str:
        where = filename
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class PlaybookError(ValueError):
    """The playbook is invalid. ``problems`` lists every problem found, each with its line and key."""

    def __init__(self, filename: str, problems: list[Problem]):
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(p.format(filename) for p in problems))
