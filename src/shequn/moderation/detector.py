"""The ad/spam detector: named checks on the normalized message, combined into one explained verdict.

Public API::

    Check(name: str, spam: bool, details: str)
    Verdict(spam: bool, score: float, checks: list[Check])       # .to_dict() -> the JSON `shequn moderation check` prints
    Detector.default()                                           # the shipped model and known spam
    Detector.from_store(conn)                                    # the model retrained by `shequn moderation learn`, else shipped
    detector.check(text, *, member_context=None) -> Verdict
    detector.check_many(texts, member_contexts=None) -> list[Verdict]   # batched: one matrix product for the classifier
    detector.with_settings(Settings(...)) -> Detector           # threshold, extra stop words, allow-listed domains

Checks, in the order they are reported (every check is always listed, fired or not, with its details):

========== ===================================================================== ==================
name       fires when                                                            evidence (log-odds)
========== ===================================================================== ==================
classifier the character n-gram model says spam (p >= 0.5)                       its own log-odds
links      a URL, bare domain, t.me link or "example dot com" (not allow-listed)  +2.0 (+0.5 per extra, max +3.0)
phones     a phone number (mobile, hotline, landline, +international)             +2.5 (+0.5 per extra, max +3.5)
contacts   a contact handle: 加V, 薇信, vx, 微信号: id, QQ号, tg @x, 私聊 ...        +3.5 (+0.5 per extra, max +4.5)
stop_words a phrase from the stop-word list                                       +1.5, +1.0 per extra, max +3.5
similarity Jaccard >= 0.5 with a known spam sample (4-char shingles)              +10 x (J - 0.4), so +1.0 .. +6.0
behaviour  a new member (first 3 messages, or joined < 24 h) posts a link/phone/handle +2.5
========== ===================================================================== ==================

**How the score combines.** Each check contributes log-odds; the classifier's log-odds (clipped to ±12) is the
prior, and every fired check adds its evidence::

    score = sigmoid(classifier_log_odds + sum(evidence of fired checks))        # 0..1
    spam  = score >= threshold                                                  # 0.5 unless the playbook says otherwise

So a link alone in a message the classifier finds clearly normal (log-odds -6) stays ham (sigmoid(-4) = 0.02), the same
link from a brand-new member in a borderline message tips it over, and an ad the classifier has never seen but that
carries 加V + a phone number is caught by evidence alone. The weights were set by hand (and checked with
``bench/spam_detector.py``), not fitted, because the shared corpora mask digits and carry no member context.

``member_context`` (all keys optional): ``message_number`` (this member's n-th message, 1 = first), ``seconds_since_join``
(or ``joined_ms`` with ``at_ms``), ``is_new`` (bool). Messages longer than :data:`MAX_CHECK_CHARS` are checked on
their first part only, and the details say so.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from shequn.moderation.model import SpamModel
from shequn.moderation.normalize import normalize, normalize_many
from shequn.moderation.patterns import find_many
from shequn.moderation.similarity import SpamIndex
from shequn.moderation.stopwords import StopWords, default_stop_words

__all__ = ["Check", "Verdict", "Settings", "Detector", "EVIDENCE", "MAX_CHECK_CHARS", "CHECK_NAMES"]

#: Every check reads at most this many characters (a hostile 1 MB message costs what a 20 KB one does).
MAX_CHECK_CHARS = 20_000
CHECK_NAMES = ("classifier", "links", "phones", "contacts", "stop_words", "similarity", "behaviour")

#: Evidence (log-odds) a fired check adds: (first hit, each further hit, cap).
EVIDENCE: dict[str, tuple[float, float, float]] = {
    "links": (2.0, 0.5, 3.0),
    "phones": (2.5, 0.5, 3.5),
    "contacts": (3.5, 0.5, 4.5),
    "stop_words": (1.5, 1.0, 3.5),
    "behaviour": (2.5, 0.0, 2.5),
}
SIMILARITY_MIN = 0.5
SIMILARITY_SLOPE, SIMILARITY_BASE = 10.0, 0.4
CLASSIFIER_CLIP = 12.0
NEW_MEMBER_MESSAGES = 3
NEW_MEMBER_SECONDS = 24 * 3600


class Check(NamedTuple):
    """One named check: did it find spam evidence, and what exactly (quoted, so a member can be told why).
    (A NamedTuple rather than a frozen dataclass: seven are made per message, and this is 5x cheaper to build.)"""

    name: str
    spam: bool
    details: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "spam": self.spam, "details": self.details}


@dataclass(frozen=True)
class Verdict:
    spam: bool
    score: float
    checks: list[Check]

    def to_dict(self) -> dict[str, Any]:
        return {"spam": self.spam, "score": self.score, "checks": [c.to_dict() for c in self.checks]}

    @property
    def fired(self) -> list[Check]:
        return [c for c in self.checks if c.spam]


@dataclass(frozen=True)
class Settings:
    """What a playbook may change: the spam threshold, extra stop words, domains that are never evidence."""

    threshold: float = 0.5
    stop_words: tuple[str, ...] = ()
    allow_domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")


# Building the per-message objects directly (a Check without its __new__'s Python frame, a Verdict without the frozen
# dataclass's __init__ and its three object.__setattr__ calls): a noticeable share of a check at 30,000 messages/s.
_new, _set, _tuple = object.__new__, object.__setattr__, tuple.__new__


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _evidence(name: str, hits: int) -> float:
    first, more, cap = EVIDENCE[name]
    return min(cap, first + more * (hits - 1)) if hits else 0.0


def _quote(items: list[str], limit: int = 3, width: int = 60) -> str:
    shown = ", ".join(repr(x[:width]) for x in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _hits_check(name: str, hits: list[str], what: str, ev: float) -> Check:
    return Check(name, True, f"{len(hits)} {what}{'s' if len(hits) > 1 else ''}: {_quote(hits)} (+{ev:.1f})")


# What a check says when it finds nothing is always the same: built once.
_NO_LINK = Check("links", False, "no link")
_NO_PHONE = Check("phones", False, "no phone number")
_NO_HANDLE = Check("contacts", False, "no contact handle")
_NO_STOP_WORD = Check("stop_words", False, "no stop word")
_NO_CONTEXT = Check("behaviour", False, "no member context")


def _host(link: str) -> str:
    s = link.split("://", 1)[-1]
    for sep in "/?#":
        s = s.split(sep, 1)[0]
    return s.removeprefix("www.")


def _is_new(ctx: dict[str, Any]) -> tuple[bool, str]:
    if ctx.get("is_new"):
        return True, "a new member"
    n = ctx.get("message_number")
    if isinstance(n, int) and 0 < n <= NEW_MEMBER_MESSAGES:
        return True, f"message {n} of a new member"
    secs = ctx.get("seconds_since_join")
    if secs is None and ctx.get("joined_ms") is not None and ctx.get("at_ms") is not None:
        secs = (ctx["at_ms"] - ctx["joined_ms"]) / 1000
    if isinstance(secs, (int, float)) and 0 <= secs < NEW_MEMBER_SECONDS:
        return True, f"a member who joined {secs / 3600:.1f} h ago"
    what = f"message {n} of this member" if isinstance(n, int) else "not a new member"
    return False, what


class Detector:
    """Immutable: a model, the known spam and settings. Build once (``default``/``from_store``) and share."""

    def __init__(self, model: SpamModel, known_spam: SpamIndex, settings: Settings | None = None,
                 stop_words: StopWords | None = None):
        self.model = model
        self.known_spam = known_spam
        self.settings = settings or Settings()
        base = stop_words or default_stop_words()
        self.stop_words = base.extended(self.settings.stop_words)
        self._allow = tuple(d.lower().removeprefix("www.") for d in self.settings.allow_domains)

    # --- construction ------------------------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Detector:
        """The shipped model (``data/model.npz``) with the shipped corpus's spam as known spam."""
        return _shipped()

    @classmethod
    def from_store(cls, conn) -> Detector:
        """The newest model ``shequn moderation learn`` stored (else the shipped one), with the operator's marked spam
        added to the known spam. ``conn`` is a SQLAlchemy Connection or Engine."""
        from shequn.moderation.learning import load_store

        model, operator_spam = load_store(conn)
        shipped = _shipped()
        if model is None and not operator_spam:
            return shipped
        index = SpamIndex(shipped.known_spam.samples)
        for t in operator_spam:
            index.add(normalize(t))
        return cls(model or shipped.model, index, shipped.settings)

    def with_settings(self, settings: Settings) -> Detector:
        return Detector(self.model, self.known_spam, settings)

    def configure(self, **changes: Any) -> Detector:
        return self.with_settings(replace(self.settings, **changes))

    # --- checking ---------------------------------------------------------------------------------------------
    def check(self, text: str, *, member_context: dict[str, Any] | None = None) -> Verdict:
        return self.check_many([text], [member_context])[0]

    def check_many(self, texts: list[str], member_contexts: list[dict[str, Any] | None] | None = None) -> list[Verdict]:
        """Verdicts for many messages; the classifier scores them in one batch (this is what throughput is measured on)."""
        texts = list(texts)
        contexts = member_contexts or [None] * len(texts)
        if len(contexts) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(contexts)} member contexts")
        cut = [t if len(t) <= MAX_CHECK_CHARS else t[:MAX_CHECK_CHARS] for t in texts]
        normalized = normalize_many(cut)
        marks, n_min = self.stop_words.first_ngram_marks(self.model.n_bits)
        log_odds, maybe_stop = self.model.log_odds_marked(normalized, marks, n_min)
        log_odds = log_odds.tolist()
        stops = self.stop_words.find_many(normalized, None if maybe_stop is None else maybe_stop.tolist())
        jaccards, samples = self.known_spam.nearest_scores(normalized, quote_from=SIMILARITY_MIN)
        flagged = [i for i, lo in enumerate(log_odds) if lo >= 0.0]
        tops: dict[int, list[tuple[str, float]]] = dict(zip(flagged, self.model.top_ngrams_many([normalized[i] for i in flagged]),
                                                            strict=True))
        links, phones, handles = find_many(normalized)
        no_match = Check("similarity", False, f"no similar known spam ({len(self.known_spam)} known)")
        verdict = self._verdict
        return [verdict(texts[i], log_odds[i], jaccards[i], samples[i], links[i], phones[i], handles[i],
                        stops[i], contexts[i], tops.get(i), no_match) for i in range(len(texts))]

    def _verdict(self, original: str, log_odds: float, jaccard: float | None, sample: str, links: list[str],
                 phones: list[str], handles: list[str], stops: list[str], ctx: dict[str, Any] | None,
                 top: list[tuple[str, float]] | None, no_match: Check) -> Verdict:
        # The common case (nothing found) reuses prebuilt Checks: this runs once per message, so it is kept lean.
        z = max(-CLASSIFIER_CLIP, min(CLASSIFIER_CLIP, log_odds))
        p = _sigmoid(log_odds)
        if p >= 0.5:
            why = f"; strongest n-grams {_quote([g for g, _ in top])}" if top else ""
            classifier = _tuple(Check, ("classifier", True, f"p(spam)={p:.3f} (log-odds {log_odds:+.2f}){why}"))
        else:
            classifier = _tuple(Check, ("classifier", False, f"p(spam)={p:.3f} (log-odds {log_odds:+.2f})"))
        if len(original) > MAX_CHECK_CHARS:
            classifier = classifier._replace(details=classifier.details + f"; message is {len(original):,} characters, "
                                                                           f"the first {MAX_CHECK_CHARS:,} were checked")

        allowed: list[str] = []
        if self._allow and links:
            allowed = [u for u in links if any(_host(u) == d or _host(u).endswith("." + d) for d in self._allow)]
            links = [u for u in links if u not in allowed]

        if links:
            z += (ev := _evidence("links", len(links)))
            links_check = _hits_check("links", links, "link", ev)
        else:
            links_check = Check("links", False, f"no link (allow-listed: {_quote(allowed)})") if allowed else _NO_LINK
        if phones:
            z += (ev := _evidence("phones", len(phones)))
            phones_check = _hits_check("phones", phones, "phone number", ev)
        else:
            phones_check = _NO_PHONE
        if handles:
            z += (ev := _evidence("contacts", len(handles)))
            contacts_check = _hits_check("contacts", handles, "contact handle", ev)
        else:
            contacts_check = _NO_HANDLE
        if stops:
            z += (ev := _evidence("stop_words", len(stops)))
            stops_check = _hits_check("stop_words", stops, "stop word", ev)
        else:
            stops_check = _NO_STOP_WORD

        if jaccard is None:
            similarity = no_match
        elif jaccard >= SIMILARITY_MIN:
            z += (ev := SIMILARITY_SLOPE * (jaccard - SIMILARITY_BASE))
            similarity = Check("similarity", True, f"Jaccard {jaccard:.2f} with known spam {sample[:60]!r} (+{ev:.1f})")
        else:
            similarity = _tuple(Check, ("similarity", False, f"closest known spam: Jaccard {jaccard:.2f}"))

        if ctx:
            behaviour = self._behaviour(ctx, links, phones, handles)
            if behaviour.spam:
                z += EVIDENCE["behaviour"][0]
        else:
            behaviour = _NO_CONTEXT
        score = round(_sigmoid(z), 4)
        v = _new(Verdict)  # Verdict(spam, score, checks)
        _set(v, "__dict__", {"spam": score >= self.settings.threshold, "score": score, "checks": [
            classifier, links_check, phones_check, contacts_check, stops_check, similarity, behaviour]})
        return v

    @staticmethod
    def _behaviour(ctx, links, phones, handles) -> Check:
        if not ctx:
            return Check("behaviour", False, "no member context")
        new, who = _is_new(ctx)
        carried = [w for w, hits in (("a link", links), ("a phone number", phones), ("a contact handle", handles)) if hits]
        if new and carried:
            return Check("behaviour", True, f"{who} posts {' and '.join(carried)} (+{EVIDENCE['behaviour'][0]:.1f})")
        return Check("behaviour", False, who if not new else f"{who}, no link, phone or handle")


# --- the shipped model ---------------------------------------------------------------------------------------------
def shipped_model_bytes() -> bytes:
    return resources.files("shequn.moderation").joinpath("data/model.npz").read_bytes()


def shipped_corpus() -> list[tuple[str, bool]]:
    """The normalized, de-duplicated training corpus shipped with the package (``data/corpus.tsv.gz``): retraining
    with operator samples starts from it, and its spam is the default known spam."""
    raw = resources.files("shequn.moderation").joinpath("data/corpus.tsv.gz").read_bytes()
    out = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        label, _, text = line.partition("\t")
        if label in ("spam", "ham"):
            out.append((text.replace("\\n", "\n").replace("\\t", "\t"), label == "spam"))
    return out


@lru_cache(maxsize=1)
def _shipped() -> Detector:
    model = SpamModel.from_bytes(shipped_model_bytes())
    index = SpamIndex([t for t, spam in shipped_corpus() if spam])
    return Detector(model, index)

