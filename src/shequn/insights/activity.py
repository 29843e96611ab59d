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
    # lazy, so the filters below move only the columns they keep (not the whole frame), and one pass
    # over the rows computes every sum
    past = frame.lazy().filter(pl.col("at_ms") < as_of_ms)
    reply_ids = (interactions.select("id").unique()["id"] if interactions is not None and not interactions.is_empty()
                 else pl.Series("id", [], pl.Int64))
    answer_ids = (answers.filter(pl.col("answer_id").is_not_null())["answer_id"].cast(pl.Int64).unique()
                  if answers is not None and not answers.is_empty() else pl.Series("answer_id", [], pl.Int64))
    is_reply = pl.col("id").is_in(reply_ids.implode()) if reply_ids.len() else pl.lit(False)
    is_answer = pl.col("id").is_in(answer_ids.implode()) if answer_ids.len() else pl.lit(False)
    msg = HUMAN_MESSAGE
    reaction = (pl.col("kind") == "reaction") & ~pl.col("is_bot").fill_null(False) & pl.col("member_id").is_not_null()
    scored = (
        past.filter(msg | reaction)
        .select(
            pl.col("member_id").cast(pl.Int64), "at_ms",
            msg.alias("m"), (msg & is_reply).alias("r"), (msg & is_answer).alias("a"), (~msg).alias("x"),
        )
        .with_columns(
            (pl.when(pl.col("x")).then(w["reaction"])
             .otherwise(pl.when(pl.col("r")).then(w["reply"]).otherwise(w["message"])
                        + pl.when(pl.col("a")).then(w["answer"]).otherwise(0.0))).alias("weight")
        )
        .group_by("member_id")
        .agg(
            pl.col("m").sum().cast(pl.Int64).alias("messages"), pl.col("r").sum().cast(pl.Int64).alias("replies"),
            pl.col("a").sum().cast(pl.Int64).alias("answers"), pl.col("x").sum().cast(pl.Int64).alias("reactions"),
            (pl.col("weight") * _decay(as_of_ms)).sum().round(2).alias("score"),
        )
        .sort(["score", "member_id"], descending=[True, False])
        .select(list(SCHEMA))
        .collect()
    )
    return scored if scored.height else pl.DataFrame(schema=SCHEMA)
