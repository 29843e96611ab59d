"""``shequn import FORMAT PATH...``: bring a platform's exported history into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from shequn.cli.context import console, err_console, fail, print_json, state
from shequn.domain.community import GroupKind
from shequn.importers.base import ImportError_
from shequn.importers.registry import FORMATS, get_importer
from shequn.importers.runner import run_import
from shequn.store.db import DatabaseError
from shequn.store.directory import UnknownTimezone

HELP = (
    "Import exported chat history (files or directories). Safe to repeat: events already stored are skipped. "
    f"Formats: {', '.join(sorted(FORMATS))}. Ends with a summary of events added, duplicates skipped and lines rejected (with reasons)."
)


def import_history(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help=f"Export format: {', '.join(sorted(FORMATS))}.")],
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Export files, or directories to search for them.")],
    community: Annotated[str, typer.Option("--community", "-c", help="Community to import into (created if new).")] = "default",
    group: Annotated[Optional[str], typer.Option("--group", "-g", help="Group the events belong to (default: named by the export; see docs/formats/ and docs/importers.md).")] = None,
    kind: Annotated[Optional[GroupKind], typer.Option("--kind", help="Kind of any group this import creates.")] = None,
    tz: Annotated[Optional[str], typer.Option("--tz", help="Time zone of timestamps written without an offset (default depends on the format).")] = None,
    dayfirst: Annotated[
        Optional[bool], typer.Option("--dayfirst/--monthfirst", help="Dates like 03/04/24 are day-first / month-first (whatsapp; default: detected).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    try:
        importer = get_importer(fmt)
    except KeyError as exc:
        raise fail(str(exc.args[0]), 2) from None
    try:
        engine = state(ctx).engine()
    except DatabaseError as exc:
        raise fail(str(exc)) from None
    with Progress(
        TextColumn("[bold]importing[/]"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task("import", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            summary = run_import(
                engine, importer, list(paths), community=community, group=group, tz=tz, kind=kind, progress=on_progress,
                extra={} if dayfirst is None else {"dayfirst": dayfirst},
            )
        except (ImportError_, UnknownTimezone) as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(summary.as_dict())
    else:
        table = Table(title=f"import {fmt} → community {community!r}", show_header=False)
        table.add_row("files read", str(summary.files))
        if summary.skipped_files:
            table.add_row("files skipped (not this format)", str(len(summary.skipped_files)))
        table.add_row("events added", f"{summary.added:,}")
        table.add_row("duplicates skipped", f"{summary.duplicates:,}")
        table.add_row("lines rejected", f"{summary.rejected:,}")
        console.print(table)
        for reason, n in summary.reject_reasons.most_common(10):
            console.print(f"  rejected {n:,}× [yellow]{reason}[/]", highlight=False)
        for ex in summary.reject_examples[:5]:
            console.print(f"    e.g. {ex.source} {ex.location}: {(ex.raw or '')[:100]!r}", highlight=False)
        if summary.rejected:
            console.print(f"  all rejects are kept in table import_rejects (import id {summary.import_id})")
        for f, err in summary.failed_files:
            console.print(f"[red]  could not finish {f}: {err}[/] (events before the problem were kept)", highlight=False)
    if summary.failed_files:
        raise typer.Exit(1)
