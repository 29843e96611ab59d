"""``shequn playbook``: validate a playbook and show the commented example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shequn.cli.context import console, err_console
from shequn.engine.registry import ModuleLoadError
from shequn.playbook.errors import PlaybookError
from shequn.playbook.loader import EXAMPLES, load_playbook

app = typer.Typer(help="Write and check playbooks (运营手册): the YAML file that says how your community is run.", no_args_is_help=True)


@app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Playbook YAML file.")]) -> None:
    """Validate a playbook; every problem is reported as FILE:LINE:COLUMN: key: message."""
    try:
        pb = load_playbook(file)
    except PlaybookError as exc:
        for problem in exc.problems:
            err_console.print(f"[red]{problem.format(exc.filename)}[/]", highlight=False)
        err_console.print(f"{len(exc.problems)} problem(s) in {exc.filename}", highlight=False)
        raise typer.Exit(1) from None
    except ModuleLoadError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    modules = ", ".join(pb.modules) or "none"
    console.print(
        f"[green]ok[/] {file}: community {pb.community!r}, timezone {pb.timezone}, "
        f"{len(pb.core.groups)} group(s), modules: {modules}",
        highlight=False,
    )


@app.command("example")
def example() -> None:
    """Print the example playbook (commented in Chinese and English) to start from."""
    typer.echo((EXAMPLES / "community.yaml").read_text(encoding="utf-8"), nl=False)
