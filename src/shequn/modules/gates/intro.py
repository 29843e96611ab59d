"""Self-introduction (自我介绍) in a template such as 名字-地区-职业: parsing a message into its parts.

The parts become member tags (``地区:上海``, ``职业:产品经理``) that rules, lurker policies and insights
use later. Members write the separators every way there is (-, －, —, /, |, spaces), so any configured
separator counts; invisible characters (zero-width, direction marks) are dropped from the parts.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_SEPARATORS = ["-", "－", "—", "–", "_", "/", "|", "｜", "+", "，", ",", "、", " ", "　"]
MAX_PART = 40  # longer than this is a chat message, not a name, a city or a job


def split_pattern(separators: list[str]) -> re.Pattern[str]:
    return re.compile("(?:" + "|".join(re.escape(s) for s in sorted(separators, key=len, reverse=True)) + ")+")


def template_parts(template: str, separators: list[str]) -> list[str]:
    return [p for p in split_pattern(separators).split(template.strip()) if p]


def clean(text: str) -> str:
    """Drop invisible and control characters, fold full-width forms, collapse spaces."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) not in ("Cf", "Cc", "Co", "Cs"))
    return " ".join(text.split())


def parse_intro(text: str, parts: list[str], pattern: re.Pattern[str], strict: re.Pattern[str] | None = None) -> dict[str, str] | None:
    """{part: value} if ``text`` is an introduction in the template, else None.

    The text must split into exactly as many pieces as the template has parts. Visible separators
    (``strict``: the configured ones other than spaces) are tried first, so 张三-上海-产品 经理 keeps its
    space inside a part; only then every separator, so 张三 上海 产品经理 works too, while an ordinary
    sentence (more pieces) is not mistaken for an introduction.
    """
    text = clean(text or "")
    for pat in (strict, pattern):
        if pat is None:
            continue
        values = [clean(p) for p in pat.split(text)]
        if len(values) == len(parts) and all(values) and all(len(v) <= MAX_PART for v in values):
            return dict(zip(parts, values, strict=True))
    return None


def visible_pattern(separators: list[str]) -> re.Pattern[str] | None:
    visible = [s for s in separators if s.strip()]
    return split_pattern(visible) if visible and len(visible) < len(separators) else None
