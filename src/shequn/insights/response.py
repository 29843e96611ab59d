"""Response time to questions (解决问题速率): are members' questions answered, and how fast?

Definitions:
- question: a human root message (no reply link — neither an explicit ``reply_to`` nor, when a
  ``replies`` frame was used for the interactions, an inferred one) with a question cue in Chinese
  or English (``?``, ``？``, 吗, 怎么, 如何, 为什么, "how", "what", "why", "anyone" ... — the same cue
  list reply inference uses, ``shequn.insights.replies.text.cues``);
- first response: the earliest message by *another* human that replies to the question, or that
  addresses the asker (``to`` / mention) in the same group after the question and before the
  asker's next question there;
- ``median_s`` / ``p90_s``: over answered questions only (seconds, nearest-rank percentiles);
- ``answered_24h_share``: questions answered within 24 h / questions asked at least 24 h before
  ``as_of`` (younger questions have not had their chance yet, so they are left out of both sides);
- unanswered: questions with no response at all, oldest first.
"""

from __future__ import annotations

import math

import polars as pl

from shequn.insights.presence import DAY_MS, HUMAN_MESSAGE
from shequn.insights.replies import text as T

Q_SCHEMA = {"question_id": pl.Int64, "group_id": pl.Int64, "asker": pl.Int64, "asked_ms": pl.Int64, "platform_id": pl.Utf8,
            "text": pl.Utf8}
R_SCHEMA = {**Q_SCHEMA, "answer_id": pl.Int64, "answerer": pl.Int64, "answered_ms": pl.Int64, "response_s": pl.Float64}


def is_question(text: str | None) -> bool:
    """True when the text carries a question cue (Chinese or English)."""
    if not text:
        return False
    low = T.clean(text[:2000]).casefold()
    first = low.split(None, 1)[0].strip(",.:!") if low.strip() else ""
    return bool(T.cues(low, first) & T.Q)


#: invisible characters removed before matching (the same set reply inference strips)
_INVISIBLE = "[" + "".join(chr(c) for c in T._INVISIBLE) + "]"


def question_expr(col: str = "text") -> pl.Expr:
    """The vectorised twin of :func:`is_question` (same cue lists), for millions of messages at once."""
    low = pl.col(col).fill_null("").str.slice(0, 2000).str.replace_all(_INVISIBLE, "").str.to_lowercase()
    first = low.str.extract(r"^\s*(\S+)", 1).str.strip_chars(",.:!")
    return low.str.contains_any(["?", "？", *T._Q_ZH]) | first.is_in(list(T._Q_EN)).fill_null(False)


def questions(frame: pl.DataFrame, interactions: pl.DataFrame) -> pl.DataFrame:
    """Root human messages with a question cue (needs the frame's ``text`` column: ``load_frame(..., with_text=True)``)."""
    if "text" not in frame.columns:
        raise ValueError("response time needs message text: load the frame with with_text=True")
    replies = interactions.filter(pl.col("via") == "reply").select("id").unique()
    roots = frame.filter(HUMAN_MESSAGE & pl.col("reply_to").is_null()).join(replies, on="id", how="anti")
    roots = roots.filter(question_expr())
    return roots.select(
        pl.col("id").cast(pl.Int64).alias("question_id"), pl.col("group_id").cast(pl.Int64), pl.col("member_id").cast(pl.Int64).alias("asker"),
        pl.col("at_ms").cast(pl.Int64).alias("asked_ms"), pl.col("platform_id").cast(pl.Utf8), pl.col("text").cast(pl.Utf8),
    ).sort("asked_ms", "question_id")


def first_responses(frame: pl.DataFrame, interactions: pl.DataFrame) -> pl.DataFrame:
    """One row per question (``R_SCHEMA``); ``answer_id`` etc. are null when nobody answered."""
    qs = questions(frame, interactions)
    if qs.is_empty():
        return pl.DataFrame(schema=R_SCHEMA)
    by_reply = (
        interactions.filter(pl.col("via") == "reply")
        .join(qs.select("question_id", "asker"), left_on="target_id", right_on="question_id")
        .filter(pl.col("member_id") != pl.col("asker"))
        .sort("at_ms", "id")
        .group_by("target_id").agg(pl.col("id").first().alias("r_id"), pl.col("member_id").first().alias("r_by"),
                                   pl.col("at_ms").first().alias("r_ms"))
        .rename({"target_id": "question_id"})
    )
    # mentions of the asker after the question and before their next question in the same group
    qs = qs.sort("asked_ms").with_columns(
        pl.col("asked_ms").shift(-1).over(["group_id", "asker"]).alias("next_q_ms"),
        (pl.col("asked_ms") + 1).alias("after_ms"),
    )
    ments = (interactions.filter(pl.col("via") == "mention")
             .select(pl.col("group_id"), pl.col("target_member_id").alias("asker"), pl.col("at_ms").alias("after_ms"),
                     pl.col("id").alias("m_id"), pl.col("member_id").alias("m_by"), pl.col("at_ms").alias("m_ms"))
             .sort("after_ms"))
    by_mention = qs.join_asof(ments, on="after_ms", by=["group_id", "asker"], strategy="forward", check_sortedness=False).filter(
        pl.col("m_id").is_not_null() & (pl.col("next_q_ms").is_null() | (pl.col("m_ms") < pl.col("next_q_ms")))
    ).select("question_id", "m_id", "m_by", "m_ms")
    out = qs.join(by_reply, on="question_id", how="left").join(by_mention, on="question_id", how="left")
    use_mention = pl.col("m_ms").is_not_null() & (pl.col("r_ms").is_null() | (pl.col("m_ms") < pl.col("r_ms")))
    return out.with_columns(
        pl.when(use_mention).then(pl.col("m_id")).otherwise(pl.col("r_id")).alias("answer_id"),
        pl.when(use_mention).then(pl.col("m_by")).otherwise(pl.col("r_by")).alias("answerer"),
        pl.when(use_mention).then(pl.col("m_ms")).otherwise(pl.col("r_ms")).alias("answered_ms"),
    ).with_columns(((pl.col("answered_ms") - pl.col("asked_ms")) / 1000).alias("response_s")).select(
        [pl.col(c).cast(t) for c, t in R_SCHEMA.items()]
    ).sort("asked_ms", "question_id")


def _nearest_rank(sorted_vals: list[float], p: float) -> float | None:
    if not sorted_vals:
        return None
    return sorted_vals[max(0, math.ceil(p * len(sorted_vals)) - 1)]


def response_summary(responses: pl.DataFrame, *, as_of_ms: int, unanswered_limit: int = 50) -> dict:
    """``questions, answered, median_s, p90_s, answered_24h_share, eligible_24h, unanswered`` (a list).

    ``unanswered`` rows: ``id`` (event id), ``platform_id``, ``group_id``, ``member_id``, ``at_ms``,
    ``text`` (first 200 characters); at most ``unanswered_limit`` of them, oldest first.
    """
    r = responses.filter(pl.col("asked_ms") < as_of_ms)
    answered = r.filter(pl.col("answered_ms").is_not_null() & (pl.col("answered_ms") < as_of_ms))
    times = sorted(answered["response_s"].to_list())
    eligible = r.filter(pl.col("asked_ms") <= as_of_ms - DAY_MS)
    fast = eligible.filter(pl.col("response_s").is_not_null() & (pl.col("response_s") <= 86_400)
                           & (pl.col("answered_ms") < as_of_ms))
    un = r.join(answered.select("question_id"), on="question_id", how="anti").sort("asked_ms")
    return {
        "questions": r.height,
        "answered": answered.height,
        "median_s": _nearest_rank(times, 0.5),
        "p90_s": _nearest_rank(times, 0.9),
        "answered_24h_share": round(fast.height / eligible.height, 4) if eligible.height else None,
        "eligible_24h": eligible.height,
        "unanswered_count": un.height,
        "unanswered": [
            {"id": row["question_id"], "platform_id": row["platform_id"], "group_id": row["group_id"], "member_id": row["asker"],
             "at_ms": row["asked_ms"], "text": (row["text"] or "")[:200]}
            for row in un.head(unanswered_limit).iter_rows(named=True)
        ],
    }
