"""Interactions: who replied to or addressed whom, one row per (message, target member).

Why: the activity score (replies weigh more than plain messages), response time (a question is
answered by another human's reply), the reply graph (key members) and churn features (replies
received) all need the same edges, so they are derived once here.

Sources of an edge, for each human message:
- reply links: the frame's explicit ``reply_to`` (platform id of the parent in the same group), or,
  when a precomputed ``replies`` frame is given (columns ``group_id, platform_id, parent``: one row
  per link, e.g. from ``shequn.insights.replies.infer_replies``), those links instead — they already
  contain the explicit ones and add inferred links for IRC / WeChat / QQ exports;
- mentions: the frame's ``to`` column — the addressee a source recorded (IRC ``nick: ...``). ``load_frame``
  gives it as the addressee's *name*; pass ``names`` (``member_names`` below: normalised account and
  display names -> member id) to resolve it. An integer ``to`` is taken as a member id as it is.
Self-replies and messages to bots are dropped: they say nothing about the community.
"""

from __future__ import annotations

import polars as pl

from shequn.insights.presence import HUMAN_MESSAGE
from shequn.insights.replies.text import norm_name

SCHEMA = {
    "id": pl.Int64, "group_id": pl.Int64, "member_id": pl.Int64, "at_ms": pl.Int64,
    "target_member_id": pl.Int64, "target_id": pl.Int64, "target_at_ms": pl.Int64, "via": pl.Utf8,
}


def _links(frame: pl.DataFrame, replies: pl.DataFrame | None) -> pl.DataFrame:
    if replies is not None:
        return replies.select(
            pl.col("group_id").cast(pl.Int64), pl.col("platform_id").cast(pl.Utf8), pl.col("parent").cast(pl.Utf8)
        ).filter(pl.col("parent").is_not_null() & (pl.col("parent") != pl.col("platform_id")))
    return frame.filter(pl.col("reply_to").is_not_null()).select(
        pl.col("group_id").cast(pl.Int64), pl.col("platform_id").cast(pl.Utf8), pl.col("reply_to").cast(pl.Utf8).alias("parent")
    )


def member_names(conn, community_id: int) -> pl.DataFrame:
    """``name, member_id``: every identity's account and display name, normalised as reply inference does.

    A name several members share is kept for each of them; ``interactions`` resolves it only where one
    of them speaks in the mention's group, so a mention never lands on a guessed person.
    """
    from sqlalchemy import select

    from shequn.store.tables import identities

    rows = conn.execute(
        select(identities.c.external_id, identities.c.display_name, identities.c.member_id)
        .where(identities.c.community_id == community_id)
    ).all()
    pairs = {(norm_name(n), m) for ext, disp, m in rows for n in (ext, disp) if n}
    return pl.DataFrame(list(pairs), schema={"name": pl.Utf8, "member_id": pl.Int64}, orient="row").filter(pl.col("name") != "")


def interactions(frame: pl.DataFrame, replies: pl.DataFrame | None = None, names: pl.DataFrame | None = None) -> pl.DataFrame:
    """Edges ``id, group_id, member_id, at_ms -> target_member_id, target_id, target_at_ms, via``.

    ``via`` is ``reply`` (target_id/target_at_ms = the parent message) or ``mention`` (target ids null).
    Only human messages are sources; targets are non-bot members other than the author.
    """
    if frame.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    msgs = frame.filter(HUMAN_MESSAGE).select(
        pl.col("id").cast(pl.Int64), pl.col("group_id").cast(pl.Int64), pl.col("member_id").cast(pl.Int64),
        pl.col("at_ms").cast(pl.Int64), pl.col("platform_id").cast(pl.Utf8), *(["to"] if "to" in frame.columns else []),
    )
    links = msgs.join(_links(frame, replies), on=["group_id", "platform_id"])
    # only the messages something replies to are looked up (not every event of a 10M-event frame)
    wanted = links.select("group_id", "parent").unique()
    parents = frame.filter(pl.col("member_id").is_not_null() & ~pl.col("is_bot").fill_null(False)).select(
        pl.col("group_id").cast(pl.Int64), pl.col("platform_id").cast(pl.Utf8).alias("parent"),
        pl.col("member_id").cast(pl.Int64).alias("target_member_id"), pl.col("id").cast(pl.Int64).alias("target_id"),
        pl.col("at_ms").cast(pl.Int64).alias("target_at_ms"),
    ).join(wanted, on=["group_id", "parent"], how="semi").unique(["group_id", "parent"], keep="first", maintain_order=True)
    replies_e = (
        links
        .join(parents, on=["group_id", "parent"])
        .select(*(c for c in SCHEMA if c != "via"), pl.lit("reply").alias("via"))
    )
    parts = [replies_e]
    to = None
    if "to" in msgs.columns and msgs.schema["to"].is_integer():
        to = msgs.filter(pl.col("to").is_not_null()).with_columns(pl.col("to").cast(pl.Int64).alias("target_member_id"))
    elif "to" in msgs.columns and names is not None:
        to = msgs.filter(pl.col("to").is_not_null()).with_columns(pl.col("to").cast(pl.Utf8))
        # normalise each distinct addressee once (a few thousand names), not once per message (millions)
        distinct = to.select("to").unique()
        distinct = distinct.with_columns(pl.Series("name", [norm_name(n) for n in distinct["to"].to_list()], dtype=pl.Utf8))
        # who a name means in each group: the members with that name who speak there; a name two of them
        # share stays unresolved. Built per (group, speaker) — small — never per mention.
        speakers = msgs.select("group_id", pl.col("member_id").alias("target_member_id")).unique()
        in_group = speakers.join(names.select("name", pl.col("member_id").cast(pl.Int64).alias("target_member_id")),
                                 on="target_member_id")
        in_group = in_group.filter(pl.len().over("group_id", "name") == 1)
        to = to.join(distinct, on="to").join(in_group, on=["group_id", "name"])
    if to is not None:
        mentions = to.select(
            "id", "group_id", "member_id", "at_ms", "target_member_id",
            pl.lit(None, pl.Int64).alias("target_id"), pl.lit(None, pl.Int64).alias("target_at_ms"), pl.lit("mention").alias("via"),
        )
        bots = frame.filter(pl.col("is_bot").fill_null(False)).select(pl.col("member_id").cast(pl.Int64)).unique()
        parts.append(mentions.join(bots, left_on="target_member_id", right_on="member_id", how="anti"))
    out = pl.concat(parts, how="vertical_relaxed")
    return out.filter(pl.col("target_member_id") != pl.col("member_id")).unique(["id", "target_member_id"], keep="first").sort("at_ms", "id")
