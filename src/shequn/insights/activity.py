"""Member activity score: decayed, weighted activity (Orbit-style "love"), shown beside raw counts.

Why decayed: an operator wants to know who contributes *now*; a member who was busy a year ago and
silent since should not outrank this month's helpers. Each activity carries a weight, multiplied by
``0.9 ** months_ago`` where ``months_ago = floor(age_days / 30)`` at ``as_of`` (this month counts
fully, last month 0.9, two months ago 0.81 ...).

Weights (``WEIGHTS``), one per activity:
- ``message`` 1: a human chat message that is not a reply or mention;
- ``reply`` 2: a message that replies to or mentions another member (an interaction, in place of
  the plain message weight);
- ``answer`` 3: a bonus when the message is the first answer by another human to a question
  (from ``shequn.insights.response.first_responses``);
- ``reaction`` 0.5: a reaction event by the member.

:func:`activity_scores` returns one row per member: ``member_id, messages, replies, answers,
reactions, score`` (counts are raw and undecayed, ``score`` rounded to 2 decimals).
"""

from __future__ import annotations

import polars as pl

from shequn.insights.presence import DAY_MS, HUMAN_MESSAGE

WEIGHTS = {"message": 1.0, "reply": 2.0, "answer": 3.0, "reaction": 0.5}
DECAY = 0.9
MONTH_DAYS = 30

SCHEMA = {"member_id": pl.Int64, "messages": pl.Int64, "replies": pl.Int64, "answers": pl.Int64,
          "reactions": pl.Int64, "score": pl.Float64}


def _decay(as_of_ms: int) -> pl.Expr:
    months = ((pl.lit(as_of_ms) - pl.col("at_ms")) // (MONTH_DAYS * DAY_MS)).clip(lower_bound=0)
    return pl.lit(DECAY) ** months


def activity_scores(
    frame: pl.DataFrame,
    *,
    as_of_ms: int,
    interactions: pl.DataFrame | None = None,
    answers: pl.DataFrame | None = None,
    weights: dict[str, float] | None = None,
) -> pl.DataFrame:
    """Scores at ``as_of_ms`` (events at or after it are ignored).

    ``interactions``: the output of ``shequn.insights.interactions.interactions`` (which messages are
    replies or mentions); ``answers``: rows with ``answer_id`` (the answering message id) — from
    ``response.first_responses``. Either may be omitted (then nothing counts as a reply / answer).
    """
    w = {**WEIGHTS, **(weights or {})}
    past = frame.filter(pl.col("at_ms") < as_of_ms)
    msgs = past.filter(HUMAN_MESSAGE).select(pl.col("id").cast(pl.Int64), pl.col("member_id").cast(pl.Int64), "at_ms")
    reply_ids = (interactions.select("id").unique() if interactions is not None and not interactions.is_empty()
                 else pl.DataFrame(schema={"id": pl.Int64}))
    answer_ids = (answers.filter(pl.col("answer_id").is_not_null()).select(pl.col("answer_id").cast(pl.Int64).alias("id")).unique()
                  if answers is not None and not answers.is_empty() else pl.DataFrame(schema={"id": pl.Int64}))
    msgs = msgs.with_columns(
        pl.col("id").is_in(reply_ids["id"].implode()).alias("is_reply"),
        pl.col("id").is_in(answer_ids["id"].implode()).alias("is_answer"),
    ).with_columns(
        (pl.when(pl.col("is_reply")).then(w["reply"]).otherwise(w["message"])
         + pl.when(pl.col("is_answer")).then(w["answer"]).otherwise(0.0)).alias("weight")
    )
    reacts = past.filter(
        (pl.col("kind") == "reaction") & ~pl.col("is_bot").fill_null(False) & pl.col("member_id").is_not_null()
    ).select(pl.col("member_id").cast(pl.Int64), "at_ms", pl.lit(w["reaction"]).alias("weight"))
    scored = pl.concat([
        msgs.select("member_id", "at_ms", "weight", pl.lit(1).alias("m"), pl.col("is_reply").cast(pl.Int64).alias("r"),
                    pl.col("is_answer").cast(pl.Int64).alias("a"), pl.lit(0).alias("x")),
        reacts.select("member_id", "at_ms", "weight", pl.lit(0).alias("m"), pl.lit(0).alias("r"), pl.lit(0).alias("a"),
                      pl.lit(1).alias("x")),
    ], how="vertical_relaxed")
    if scored.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    return (
        scored.group_by("member_id")
        .agg(
            pl.col("m").sum().cast(pl.Int64).alias("messages"), pl.col("r").sum().cast(pl.Int64).alias("replies"),
            pl.col("a").sum().cast(pl.Int64).alias("answers"), pl.col("x").sum().cast(pl.Int64).alias("reactions"),
            (pl.col("weight") * _decay(as_of_ms)).sum().round(2).alias("score"),
        )
        .sort(["score", "member_id"], descending=[True, False])
        .select(list(SCHEMA))
    )
