"""Root of the ``shequn`` CLI."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from shequn import __version__
from shequn.cli import engine_cmd, import_cmd, members_cmd, playbook_cmd, stats_cmd
from shequn.cli import mall_cmd  # growth: points mall
from shequn.cli import lottery_cmd  # growth: lotteries and red packets
from shequn.cli import referral_cmd  # growth: referral / fission
from shequn.cli import rules_cmd  # rules: clock-driven rules live (shequn tick)
from shequn.cli import points_cmd  # points: leaderboards, history, adjustments
from shequn.cli import moderation_cmd  # moderation: ad/spam detector check + learn
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
app.command("insights", help=__import__("shequn.cli.insights_cmd", fromlist=["HELP"]).HELP)(__import__("shequn.cli.insights_cmd", fromlist=["insights"]).insights)  # insights: actives, lifecycle, cohorts, members
app.command("receive")(engine_cmd.receive)
app.command("backtest")(engine_cmd.backtest)
app.command("tick")(rules_cmd.tick)  # rules: gate deadlines and lurker sweeps, live
app.add_typer(playbook_cmd.app, name="playbook")
app.add_typer(members_cmd.app, name="members")
app.add_typer(points_cmd.app, name="points")
app.add_typer(mall_cmd.app, name="mall")
app.add_typer(lottery_cmd.app, name="lottery")
app.add_typer(referral_cmd.app, name="referral")
app.add_typer(moderation_cmd.app, name="moderation")
app.command("replies", help=__import__("shequn.cli.replies_cmd", fromlist=["HELP"]).HELP)(__import__("shequn.cli.replies_cmd", fromlist=["replies"]).replies)  # reply inference
app.command("report", help=__import__("shequn.cli.report_cmd", fromlist=["HELP"]).HELP)(__import__("shequn.cli.report_cmd", fromlist=["report"]).report)  # HTML report / 周报


def main() -> None:
    app()
