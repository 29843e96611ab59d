"""Root of the ``shequn`` CLI."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from shequn import __version__
from shequn.cli import engine_cmd, import_cmd, members_cmd, playbook_cmd, stats_cmd
from shequn.cli.context import state
from shequn.config import ENV_DB

app = typer.Typer(
    name="shequn",
    help=(
        "Shequn (社群): run your chat-group community from one self-hosted tool.\n\n"
        "Import the history of your groups, check your playbook (运营手册), and see how your community is doing. "
        "Data lives in an SQLite file in your user data directory unless you pass --db or set SHEQUN_DB."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shequn {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Optional[str],
        typer.Option(
            "--db",
            envvar=ENV_DB,
            help="Database URL: sqlite:///path/to/file.db or postgresql://user@host/dbname (default: SQLite file in your user data directory).",
            show_envvar=True,
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    state(ctx).db = db


app.command("import", help=import_cmd.HELP)(import_cmd.import_history)
app.command("stats", help=stats_cmd.HELP)(stats_cmd.stats)
app.command("receive")(engine_cmd.receive)
app.command("backtest")(engine_cmd.backtest)
app.add_typer(playbook_cmd.app, name="playbook")
app.add_typer(members_cmd.app, name="members")


def main() -> None:
    app()
