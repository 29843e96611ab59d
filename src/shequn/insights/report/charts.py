"""Charts as inline SVG strings, drawn by matplotlib's SVG backend.

Why SVG from matplotlib: the report must open offline with no JavaScript and no external request,
so every chart is an ``<svg>`` element embedded in the HTML. Charts carry only language-neutral
labels (numbers, dates, ISO weekday numbers 1-7, hours 0-23); the words (titles, legends, axis
names) live in the HTML in both languages. That way no CJK glyph is ever drawn by matplotlib and a
reader never sees tofu boxes, whatever fonts are installed.

Every function takes plain Python values (lists, dates, numbers) and returns an SVG string, or
``None`` when there is nothing to draw (the template then shows "no data"). The colours are named
in :data:`COLORS` so the HTML legends use exactly the same ones.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg", force=False)  # never a GUI backend; we only write SVG

from matplotlib import rc_context  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

#: one colour per series; colour-blind safe (Okabe-Ito)
COLORS = {
    "dau": "#0072B2",
    "wau": "#E69F00",
    "mau": "#009E73",
    "joins": "#009E73",
    "leaves": "#D55E00",
    "net": "#000000",
    "core": "#0072B2",
    "active": "#56B4E9",
    "casual": "#E69F00",
    "lurker": "#BBBBBB",
    "growing": "#009E73",
    "stable": "#0072B2",
    "declining": "#E69F00",
    "dead": "#999999",
    "answered": "#0072B2",
    "unanswered": "#D55E00",
    "messages": "#0072B2",
}

_HEAT = LinearSegmentedColormap.from_list("shequn_heat", ["#f7fbff", "#6baed6", "#08306b"])
_RC = {
    "svg.fonttype": "none",  # text stays text: small files, the browser draws the digits
    "svg.hashsalt": "shequn",  # stable ids, so the same data gives the same file
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e5e5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.edgecolor": "#888888",
    "xtick.color": "#444444",
    "ytick.color": "#444444",
}
_counter = itertools.count(1)
_ID = re.compile(r'\bid="([^"]+)"')


def _svg(fig: Figure) -> str:
    """Serialise a figure to an embeddable ``<svg>``: no XML prolog, unique ids, fluid width."""
    buf = io.StringIO()
    # fixed margins (set in _figure), not bbox_inches="tight": that lays the figure out twice
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)  # RDF boilerplate, not needed
    # Several charts live in one HTML document: make their ids (clip paths, glyphs) unique to each chart.
    prefix = f"c{next(_counter)}-"
    for old in sorted(set(_ID.findall(text)), key=len, reverse=True):
        text = text.replace(f'id="{old}"', f'id="{prefix}{old}"').replace(f"#{old})", f"#{prefix}{old})")
        text = text.replace(f'href="#{old}"', f'href="#{prefix}{old}"')
    # Scale with the page: keep the viewBox, drop the fixed size.
    text = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 class="chart" preserveAspectRatio="xMidYMid meet"', text, count=1)
    return text.strip()


def _figure(width: float, height: float, *, left: float = 0.55, right: float = 0.15, bottom: float = 0.35, top: float = 0.12) -> Figure:
    """A figure with margins in inches (room for tick labels) so a single draw lays it out."""
    fig = Figure(figsize=(width, height), dpi=96)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)
    return fig


def _fmt(n: float) -> str:
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return f"{n:g}" if isinstance(n, float) else str(n)


def line_chart(days: Sequence[date], series: dict[str, Sequence[float | None]], *, width: float = 10.5, height: float = 2.8) -> str | None:
    """One line per series over calendar days (e.g. DAU / WAU / MAU). Keys of ``series`` pick colours."""
    if not days or not any(any(v for v in vals if v is not None) for vals in series.values()):
        return None
    with rc_context(_RC):
        fig = _figure(width, height, bottom=0.55)
        ax = fig.add_subplot()
        for key, vals in series.items():
            ys = [math.nan if v is None else v for v in vals]
            ax.plot(days, ys, color=COLORS.get(key, "#333333"), linewidth=1.4, gid=f"series-{key}")
        locator = AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        return _svg(fig)


def diverging_bars(labels: Sequence[str], up: Sequence[int], down: Sequence[int], *, width: float = 10.5, height: float = 2.6) -> str | None:
    """Joins above the axis, leaves below, net change as a line: one bar pair per period label."""
    if not labels or not (any(up) or any(down)):
        return None
    with rc_context(_RC):
        fig = _figure(width, height)
        ax = fig.add_subplot()
        xs = range(len(labels))
        ax.bar(xs, up, color=COLORS["joins"], width=0.8, gid="bars-joins")
        ax.bar(xs, [-d for d in down], color=COLORS["leaves"], width=0.8, gid="bars-leaves")
        ax.plot(xs, [u - d for u, d in zip(up, down)], color=COLORS["net"], linewidth=1.2, marker="o", markersize=2.5, gid="line-net")
        ax.axhline(0, color="#666666", linewidth=0.8)
        step = max(1, math.ceil(len(labels) / 12))
        ax.set_xticks(list(xs)[::step], list(labels)[::step], rotation=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(lambda v, _pos: _fmt(abs(int(v))))
        return _svg(fig)


def heatmap(matrix: Sequence[Sequence[float]], *, width: float = 10.5, height: float = 2.4) -> str | None:
    """Weekday x hour grid: rows are ISO weekdays 1 (Monday) .. 7, columns hours 0..23."""
    if not matrix or not any(any(row) for row in matrix):
        return None
    with rc_context({**_RC, "axes.grid": False}):
        fig = _figure(width, height, left=0.3, right=0.5, bottom=0.3)
        ax = fig.add_subplot()
        # pcolormesh (not imshow): vector cells instead of an embedded bitmap
        image = ax.pcolormesh(matrix, cmap=_HEAT, vmin=0, edgecolors="white", linewidth=0.4, gid="heat")
        ax.invert_yaxis()
        ax.set_yticks([i + 0.5 for i in range(len(matrix))], [str(i + 1) for i in range(len(matrix))])
        ax.set_xticks([h + 0.5 for h in range(0, 24, 2)], [str(h) for h in range(0, 24, 2)])
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01, format=lambda v, _pos: _fmt(v))
        bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        return _svg(fig)


def retention_grid(cohorts: Sequence[str], sizes: Sequence[int], rows: Sequence[Sequence[float | None]], *, width: float = 10.5) -> str | None:
    """Cohort retention: one row per cohort (``YYYY-MM``, its size), one column per month offset, shares 0..1."""
    if not cohorts:
        return None
    ncols = max((len(r) for r in rows), default=0)
    if ncols == 0:
        return None
    grid = [[math.nan if (i >= len(r) or r[i] is None) else r[i] for i in range(ncols)] for r in rows]
    height = min(9.0, 0.5 + 0.28 * len(cohorts))
    with rc_context({**_RC, "axes.grid": False}):
        fig = _figure(width, height, left=1.1, top=0.3, bottom=0.05)
        ax = fig.add_subplot()
        ax.pcolormesh(grid, cmap=_HEAT, vmin=0, vmax=1, edgecolors="white", linewidth=0.4, gid="cohorts")
        ax.invert_yaxis()
        ax.set_yticks([i + 0.5 for i in range(len(cohorts))], [f"{c}  ({n})" for c, n in zip(cohorts, sizes)])
        step = max(1, math.ceil(ncols / 24))
        ax.set_xticks([i + 0.5 for i in range(0, ncols, step)], [f"+{i}" for i in range(0, ncols, step)])
        ax.xaxis.tick_top()
        if len(cohorts) * ncols <= 400:
            for y, row in enumerate(grid):
                for x, v in enumerate(row):
                    if not math.isnan(v):
                        ax.text(x + 0.5, y + 0.5, f"{round(v * 100)}", ha="center", va="center", fontsize=7, color="white" if v > 0.5 else "#222222")
        for spine in ax.spines.values():
            spine.set_visible(False)
        return _svg(fig)


def hbars(keys: Sequence[str], values: Sequence[float], *, width: float = 5.2, height: float | None = None, centered: bool = False) -> str | None:
    """Horizontal bars coloured by key, value printed at the end; ``centered`` draws a pyramid (bars centred on 0)."""
    if not keys or not any(values):
        return None
    height = height or 0.3 + 0.42 * len(keys)
    with rc_context({**_RC, "axes.grid": False}):
        fig = _figure(width, height, left=0.1, right=0.1, bottom=0.1, top=0.1)
        ax = fig.add_subplot()
        ys = list(range(len(keys)))[::-1]
        colors = [COLORS.get(k, "#888888") for k in keys]
        top = max(values) or 1
        if centered:
            widths = [max(v, top * 0.006) for v in values]  # a tier with few members stays visible
            ax.barh(ys, widths, left=[-w / 2 for w in widths], color=colors, height=0.8, gid="pyramid")
            for y, w, v in zip(ys, widths, values):
                ax.text(w / 2 + top * 0.02, y, _fmt(v), ha="left", va="center", fontsize=8, color="#111111")
            ax.set_xlim(-top / 2 * 1.02, top / 2 * 1.3)
            ax.set_xticks([])
        else:
            ax.barh(ys, values, color=colors, height=0.7, gid="bars")
            for y, v in zip(ys, values):
                ax.text(v + top * 0.01, y, _fmt(v), va="center", fontsize=8)
            ax.set_xlim(0, top * 1.15)
        ax.set_yticks([])
        for side in ("left", "bottom") if centered else ("left",):
            ax.spines[side].set_visible(False)
        return _svg(fig)


def sparkline(values: Sequence[float], color: str, *, width: float = 2.6, height: float = 0.5) -> str | None:
    """A tiny weekly series for a table cell (lifecycle per group): no axes, last point marked."""
    if not values or not any(values):
        return None
    with rc_context({**_RC, "axes.grid": False}):
        fig = _figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        xs = range(len(values))
        ax.fill_between(xs, values, color=color, alpha=0.18, linewidth=0)
        ax.plot(xs, values, color=color, linewidth=1.2, gid="spark")
        ax.plot([len(values) - 1], [values[-1]], "o", color=color, markersize=2.5)
        ax.set_ylim(bottom=0, top=max(values) * 1.1)
        ax.set_axis_off()
        return _svg(fig)


def histogram(labels: Sequence[str], counts: Sequence[int], keys: Sequence[str] | None = None, *, width: float = 5.2, height: float = 2.4) -> str | None:
    """Vertical bars over labelled bins (e.g. response-time buckets); ``keys`` pick a colour per bar."""
    if not labels or not any(counts):
        return None
    keys = keys or ["messages"] * len(labels)
    with rc_context(_RC):
        fig = _figure(width, height, left=0.45)
        ax = fig.add_subplot()
        xs = range(len(labels))
        ax.bar(xs, counts, color=[COLORS.get(k, "#888888") for k in keys], width=0.75, gid="hist")
        top = max(counts) or 1
        for x, c in zip(xs, counts):
            ax.text(x, c + top * 0.02, _fmt(c), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(xs), list(labels))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, top * 1.15)
        ax.grid(axis="x", visible=False)
        return _svg(fig)
