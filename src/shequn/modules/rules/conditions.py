"""Conditions: when a rule fires. The playbook writes them as small mappings, combined with all/any/not.

Each condition, when it holds, says *why* in words a member can read ("contains a link: t.cn/abc",
"5 messages in 10 seconds"), and can describe itself for ``not`` ("outside 12:00-13:00"). Several keys
in one mapping must all hold. The schema (``Condition``) is validated at load time, so a typo points at
its line; ``compile_condition`` turns it into a tree of checks evaluated per message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from rapidfuzz.distance import Levenshtein

from shequn.modules.rules.facts import _NOT_WORD, Facts, normalize
from shequn.modules.rules.timing import DAYS, Duration, Window, format_duration, in_window, window_text
from shequn.playbook.schema import StrictModel

#: Fuzzy keyword matching looks at this many characters (exact matching looks at all of them), so a
#: hostile megabyte-long message costs milliseconds, not seconds.
FUZZY_SCAN_CHARS = 5_000


class Keywords(StrictModel):
    words: list[str] = Field(min_length=1, description="Words or phrases; matched on normalized text.")
    fuzzy: int = Field(default=0, ge=0, le=3, description="Edits allowed (Levenshtein distance); 0 = exact.")

    @field_validator("words")
    @classmethod
    def _not_blank(cls, words: list[str]) -> list[str]:
        for i, w in enumerate(words):
            if not _NOT_WORD.sub("", w):
                raise ValueError(f"words[{i}] {w!r} has no letters or digits to match")
        return words


class Repeated(StrictModel):
    times: int = Field(ge=2, description="The same text this many times ...")
    within: Duration = Field(description="... within this long (same member, any group).")


class AcrossGroups(StrictModel):
    groups: int = Field(ge=2, description="The same text in this many different groups ...")
    within: Duration


class Flood(StrictModel):
    messages: int = Field(ge=2, description="This many messages from one member ...")
    within: Duration


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Condition(StrictModel):
    """One condition. Exactly the keys written must all hold; combine with all / any / not."""

    all_: list[Condition] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")
    link: bool | None = None
    qr_code: bool | None = None
    phone: bool | None = None
    contact: bool | None = None
    media: list[str] | None = Field(default=None, min_length=1)
    keywords: Keywords | None = None
    shorter_than: int | None = Field(default=None, ge=1)
    longer_than: int | None = Field(default=None, ge=0)
    repeated: Repeated | None = None
    same_text_in_groups: AcrossGroups | None = None
    flood: Flood | None = None
    first_messages: int | None = Field(default=None, ge=1)
    during: list[Window] | None = Field(default=None, min_length=1)
    days: list[Day] | None = Field(default=None, min_length=1)
    role: list[str] | None = Field(default=None, min_length=1)
    tag: list[str] | None = Field(default=None, min_length=1)
    spam_score: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("during", "media", "role", "tag", "days", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("keywords", mode="before")
    @classmethod
    def _word_list(cls, value):
        return {"words": value} if isinstance(value, list) else value

    @model_validator(mode="after")
    def _something(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("empty condition: write at least one key (link, keywords, flood, during, all, any, not ...)")
        return self


class Check:
    """A compiled condition: ``test`` returns why it holds (a short text) or None."""

    #: (tracks history, tracks message count, longest look-back in ms) so the module keeps only what is needed
    needs_history: bool = False
    needs_count: bool = False
    window_ms: int = 0

    def test(self, f: Facts) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Leaf(Check):
    fn: Callable[[Facts], str | None]
    text: str
    needs_history: bool = False
    needs_count: bool = False
    window_ms: int = 0

    def test(self, f: Facts) -> str | None:
        return self.fn(f)

    def describe(self) -> str:
        return self.text


class All(Check):
    def __init__(self, parts: list[Check]):
        self.parts = parts
        self.needs_history = any(p.needs_history for p in parts)
        self.needs_count = any(p.needs_count for p in parts)
        self.window_ms = max(p.window_ms for p in parts)

    def test(self, f: Facts) -> str | None:
        why = []
        for p in self.parts:
            r = p.test(f)
            if r is None:
                return None
            why.append(r)
        return "; ".join(why)

    def describe(self) -> str:
        return " and ".join(p.describe() for p in self.parts)


class Any_(All):
    def test(self, f: Facts) -> str | None:
        for p in self.parts:
            r = p.test(f)
            if r is not None:
                return r
        return None

    def describe(self) -> str:
        return "(" + " or ".join(p.describe() for p in self.parts) + ")"


class Not(Check):
    def __init__(self, inner: Check):
        self.inner = inner
        self.needs_history, self.needs_count, self.window_ms = inner.needs_history, inner.needs_count, inner.window_ms

    def test(self, f: Facts) -> str | None:
        return None if self.inner.test(f) is not None else f"not {self.inner.describe()}"

    def describe(self) -> str:
        return f"not {self.inner.describe()}"


def _presence(name: str, want: bool, found: Callable[[Facts], list[str]]) -> Leaf:
    def fn(f: Facts) -> str | None:
        items = found(f)
        if want and items:
            return f"contains a {name}: {', '.join(items[:3])}"
        if not want and not items:
            return f"no {name}"
        return None

    return Leaf(fn, f"contains a {name}" if want else f"no {name}")


def _qr(f: Facts) -> list[str]:
    """QR codes are reported by importers and adapters (see docs/rules.md): payload ``qr_code`` (true or
    the decoded content), or an entry of ``attachments`` with ``qr_code`` set."""
    found = []
    value = f.payload.get("qr_code")
    if value:
        found.append(value if isinstance(value, str) else "QR code in image")
    for att in f.payload.get("attachments") or []:
        if isinstance(att, dict) and att.get("qr_code"):
            v = att["qr_code"]
            found.append(v if isinstance(v, str) else f"QR code in {att.get('fileName') or att.get('name') or 'attachment'}")
    return found


@lru_cache(maxsize=1024)
def _fuzzy_plan(word: str, k: int) -> tuple[list[tuple[int, str]], list[int]]:
    """The word's k+1 disjoint chunks (offset, text) and the window sizes to try, same length first."""
    n = len(word)
    step = n // (k + 1)
    chunks = [(i * step, word[i * step : (i + 1) * step if i < k else n]) for i in range(k + 1)]
    return chunks, sorted(range(max(1, n - k), n + k + 1), key=lambda size: abs(size - n))


def _fuzzy_find(word: str, text: str, k: int) -> str | None:
    """A piece of ``text`` within ``k`` edits of ``word``, or None.

    Pigeonhole filter first: k edits touch at most k of k+1 disjoint chunks of the word, so some
    chunk appears unchanged in any match. Only windows around those exact chunk hits are measured,
    which keeps ordinary messages (no chunk present) at the cost of a few substring searches.
    """
    n = len(word)
    if n <= k:
        return None  # a 1-letter word with 1 edit allowed would match anything
    chunks, sizes = _fuzzy_plan(word, k)
    tried: set[tuple[int, int]] = set()
    for offset, chunk in chunks:
        if not chunk:
            continue
        pos = text.find(chunk)
        while pos != -1:
            base = pos - offset
            best: tuple[int, str] | None = None
            for size in sizes:
                for start in range(max(0, base - k), base + k + 1):
                    if (start, size) in tried or start + size > len(text):
                        continue
                    tried.add((start, size))
                    piece = text[start : start + size]
                    d = Levenshtein.distance(word, piece, score_cutoff=k)
                    if d <= k and (best is None or d < best[0]):
                        best = (d, piece)
            if best is not None:
                return best[1]
            pos = text.find(chunk, pos + 1)
    return None


def _keywords(spec: Keywords) -> Leaf:
    k = spec.fuzzy
    words: list[tuple[str, str]] = []

    def fn(f: Facts) -> str | None:
        # keywords are normalized the same way as the message (once, on first use), so a list that
        # says 微信 also catches 薇信, ＷＸ or 微.信 once the library maps them to the same text
        if not words:
            words.extend((w, _NOT_WORD.sub("", n.lower())) for w, n in zip(spec.words, _normalize_words(spec.words), strict=True))
        text = f.squashed
        for original, w in words:
            if w in text:
                return f"keyword {original!r}"
        if k:
            head = text[:FUZZY_SCAN_CHARS]
            for original, w in words:
                piece = _fuzzy_find(w, head, k)
                if piece is not None:
                    return f"keyword {original!r} (fuzzy match {piece!r})"
        return None

    return Leaf(fn, f"keywords {', '.join(spec.words[:5])}")


def _normalize_words(words: list[str]) -> list[str]:
    return [normalize(w) for w in words]


def _repeated(spec: Repeated) -> Leaf:
    def fn(f: Facts) -> str | None:
        since = f.event.at_ms - spec.within
        n = sum(1 for at, _g, key in f.history.recent if at >= since and key == f.key)
        return f"the same text {n} times in {format_duration(spec.within)}" if n >= spec.times else None

    return Leaf(fn, f"the same text {spec.times} times in {format_duration(spec.within)}", needs_history=True, window_ms=spec.within)


def _across(spec: AcrossGroups) -> Leaf:
    def fn(f: Facts) -> str | None:
        since = f.event.at_ms - spec.within
        groups = {g for at, g, key in f.history.recent if at >= since and key == f.key}
        return f"the same text in {len(groups)} groups in {format_duration(spec.within)}" if len(groups) >= spec.groups else None

    return Leaf(fn, f"the same text in {spec.groups} groups in {format_duration(spec.within)}", needs_history=True, window_ms=spec.within)


def _flood(spec: Flood) -> Leaf:
    def fn(f: Facts) -> str | None:
        since = f.event.at_ms - spec.within
        n = sum(1 for at, _g, _k in f.history.recent if at >= since)
        return f"{n} messages in {format_duration(spec.within)}" if n >= spec.messages else None

    return Leaf(fn, f"{spec.messages} messages in {format_duration(spec.within)}", needs_history=True, window_ms=spec.within)


def _compile_leaves(c: Condition) -> list[Check]:
    """Leaves in a fixed order, cheapest first (so ``all`` stops early on cheap checks); the reason lists
    them in this order too."""
    out: list[Check] = []
    if c.shorter_than is not None:
        n = c.shorter_than
        out.append(Leaf(lambda f: f"only {len(f.text.strip())} characters (minimum {n})" if len(f.text.strip()) < n else None, f"shorter than {n} characters"))
    if c.longer_than is not None:
        n2 = c.longer_than
        out.append(Leaf(lambda f: f"{len(f.text)} characters (maximum {n2})" if len(f.text) > n2 else None, f"longer than {n2} characters"))
    if c.repeated is not None:
        out.append(_repeated(c.repeated))
    if c.same_text_in_groups is not None:
        out.append(_across(c.same_text_in_groups))
    if c.flood is not None:
        out.append(_flood(c.flood))
    if c.first_messages is not None:
        n3 = c.first_messages
        out.append(Leaf(lambda f: f"message {f.history.count} of the member's first {n3}" if f.history.count <= n3 else None,
                        f"within the member's first {n3} messages", needs_count=True))
    if c.during is not None:
        windows = list(c.during)
        text = ", ".join(window_text(w) for w in windows)

        def during(f: Facts, windows=windows, text=text) -> str | None:
            minute = f.local.hour * 60 + f.local.minute
            return f"at {f.local:%H:%M} (during {text})" if any(in_window(minute, w) for w in windows) else None

        out.append(Leaf(during, f"during {text}"))
    if c.days is not None:
        days = set(c.days)
        out.append(Leaf(lambda f: f"on {DAYS[f.local.weekday()]}" if DAYS[f.local.weekday()] in days else None, f"on {'/'.join(c.days)}"))
    if c.role is not None:
        roles = set(c.role)
        out.append(Leaf(lambda f: f"role {', '.join(sorted(f.roles & roles))}" if f.roles & roles else None, f"role {'/'.join(c.role)}"))
    if c.tag is not None:
        tags = set(c.tag)
        out.append(Leaf(lambda f: f"tag {', '.join(sorted(f.tags & tags))}" if f.tags & tags else None, f"tag {'/'.join(c.tag)}"))
    if c.link is not None:
        out.append(_presence("link", c.link, lambda f: f.links))
    if c.qr_code is not None:
        out.append(_presence("QR code", c.qr_code, _qr))
    if c.phone is not None:
        out.append(_presence("phone number", c.phone, lambda f: f.phones))
    if c.contact is not None:
        out.append(_presence("contact handle", c.contact, lambda f: f.handles))
    if c.media is not None:
        kinds = set(c.media)
        out.append(Leaf(lambda f: f"media: {f.payload.get('media')}" if f.payload.get("media") in kinds else None, f"media {'/'.join(c.media)}"))
    if c.keywords is not None:
        out.append(_keywords(c.keywords))
    if c.all_ is not None:
        out.append(All([compile_condition(x) for x in c.all_]))
    if c.any_ is not None:
        out.append(Any_([compile_condition(x) for x in c.any_]))
    if c.not_ is not None:
        out.append(Not(compile_condition(c.not_)))
    if c.spam_score is not None:
        t = c.spam_score

        def spam(f: Facts, t=t) -> str | None:
            if not f.text.strip():
                return None
            v = f.verdict
            if v.score < t:
                return None
            fired = [getattr(ch, "name", str(ch)) for ch in getattr(v, "checks", ()) if getattr(ch, "spam", False)]
            return f"spam score {v.score:.2f} >= {t:g}" + (f" ({', '.join(fired[:4])})" if fired else "")

        out.append(Leaf(spam, f"spam score >= {t:g}", needs_count=True))  # the detector weighs a newcomer's first messages
    return out


def compile_condition(c: Condition) -> Check:
    leaves = _compile_leaves(c)
    return leaves[0] if len(leaves) == 1 else All(leaves)


Condition.model_rebuild()
