"""The HTML report and the weekly report (周报): insights rendered to one self-contained file.

``build_report`` is the library entry point (``shequn report`` calls it): it fetches the insights
(:mod:`.data`), shapes them for the page (:mod:`.view`, charts in :mod:`.charts`) and renders the
Jinja2 templates (:mod:`.render`). The file opens offline and makes no network request.
"""

from __future__ import annotations

from sqlalchemy import Connection

from shequn.insights.report import data, view
from shequn.insights.report.render import LANGS, render


def build_report(
    conn: Connection,
    community_id: int,
    *,
    weekly: bool = False,
    group_ids: list[int] | None = None,
    group_names: list[str] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    lang: str = "both",
    now_ms: int | None = None,
) -> str:
    """The report as an HTML string. ``weekly``: this ISO week against the last (``since_ms`` is not used)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    if weekly:
        week = data.weekly(conn, community_id, group_ids=group_ids, until_ms=until_ms, now_ms=now_ms)
        return render("weekly.html.j2", view.weekly_view(week, group_filter=group_names), lang=lang)
    overview = data.overview(conn, community_id, group_ids=group_ids, since_ms=since_ms, until_ms=until_ms)
    return render("report.html.j2", view.overview_view(overview, group_filter=group_names), lang=lang)


__all__ = ["LANGS", "build_report"]
