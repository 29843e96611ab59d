"""Turn a report view into one self-contained HTML file (Jinja2 templates shipped as package data).

Why a strict environment: member names and message text are whatever people typed, so every value
is autoescaped, invisible characters (zero-width, bidi overrides, fillers) are shown as visible
``U+200B`` markers instead of silently hiding an impersonation, and long text is cut. The page
carries a Content-Security-Policy that forbids every network fetch, so even a bug here cannot make
the report call out.

Both languages can live in one file: each phrase is written twice (``lang="en"`` / ``lang="zh-CN"``)
and a CSS-only radio switch hides one of them, so no JavaScript is needed.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from shequn import __version__
from shequn.insights.report.charts import COLORS
from shequn.insights.report.messages import TEXT

LANGS = ("both", "zh", "en")
NAME_MAX = 60
TEXT_MAX = 160
#: characters that draw nothing (or look like a space) although they are not whitespace
_INVISIBLE_EXTRA = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u00ad"}


def _visible(value: object, limit: int) -> Markup:
    """Escape ``value`` and make invisible characters visible; cut it at ``limit`` characters."""
    if value is None or value == "":
        return Markup("—")
    text = str(value)
    cut = len(text) > limit
    text = text[:limit]
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in _INVISIBLE_EXTRA or cat in ("Cf", "Co", "Cs") or (cat == "Cc" and ch not in "\t\n"):
            out.append(f'<span class="zw" title="invisible character">U+{ord(ch):04X}</span>')
        elif ch in "\t\n\r":
            out.append(" ")
        else:
            out.append(str(escape(ch)))
    if cut:
        out.append("…")
    return Markup("".join(out))


def person(value: object) -> Markup:
    return _visible(value, NAME_MAX)


def snippet(value: object, limit: int = TEXT_MAX) -> Markup:
    return _visible(value, limit)


class Translator:
    """``t(key, **values)`` for templates: one or both languages, values escaped before formatting."""

    def __init__(self, lang: str):
        if lang not in LANGS:
            raise ValueError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
        self.lang = lang

    @staticmethod
    def _fill(template: str, values: dict) -> str:
        safe = {k: (v if isinstance(v, Markup) else escape(v)) for k, v in values.items()}
        return str(escape(template)).format(**safe)

    def both(self, en: object, zh: object) -> Markup:
        en_html, zh_html = snippet(en, 400), snippet(zh if zh else en, 400)
        if self.lang == "en":
            return en_html
        if self.lang == "zh":
            return zh_html
        return Markup(f'<span lang="en">{en_html}</span><span lang="zh-CN">{zh_html}</span>')

    def __call__(self, key: str, **values) -> Markup:
        en, zh = TEXT[key]
        en, zh = self._fill(en, values), self._fill(zh, values)
        if self.lang == "en":
            return Markup(en)
        if self.lang == "zh":
            return Markup(zh)
        return Markup(f'<span lang="en">{en}</span><span lang="zh-CN">{zh}</span>')

    def data(self, prefix: str, value: object) -> Markup:
        """A word that comes from the data (a lifecycle stage): translated when known, else shown as is."""
        key = f"{prefix}{value}"
        return self(key) if key in TEXT else person(value)

    def plain(self, key: str) -> str:
        en, zh = TEXT[key]
        return en if self.lang == "en" else zh if self.lang == "zh" else f"{zh} / {en}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("shequn.insights.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,  # a missing view key is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["person"] = person
    env.filters["snippet"] = snippet
    return env


_ENV = _environment()


def render(template: str, view: dict, *, lang: str = "both", generated_at: datetime | None = None) -> str:
    """Render ``template`` (``report.html.j2`` or ``weekly.html.j2``) with a view dict to an HTML string."""
    t = Translator(lang)
    generated = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    return _ENV.get_template(template).render(
        **view, lang=lang, t=t, t_plain=t.plain, both=t.both, colors=COLORS, version=__version__, generated_at=generated
    )


def write_html(path: Path, html: str) -> Path:
    """Write atomically (temp file + rename): a failed run never leaves half a report behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
