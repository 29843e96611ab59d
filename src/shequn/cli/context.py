"""What every command needs: the database, a console, and clean errors instead of tracebacks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import typer
from rich.console import Console
from sqlalchemy import Engine

from shequn.config import resolve_db_url
from shequn.store.db import open_engine

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # errors are never wrapped mid-path


@dataclass
class AppState:
    db: str | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return resolve_db_url(self.db)

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_engine(self.url)
        return self._engine


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = AppState()
    return root.obj


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error the operator can act on and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def print_json(doc) -> None:
    """JSON to stdout, UTF-8, no Rich markup (so it can be piped to jq)."""
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
