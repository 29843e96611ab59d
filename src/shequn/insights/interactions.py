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


def member_names(conn, community_id: int, identities: pl.DataFrame | None = None) -> pl.DataFrame:
    """``name, member_id``: every identity's account and display name, normalised as reply inference does.

    A name several members share is kept for each of them; ``interactions`` resolves it only where one
    of them speaks in the mention's group, so a mention never lands on a guessed person.
    ``identities``: ``frame.read_identities(conn, community_id)`` when the caller has read it already.
    """
    from shequn.insights.frame import read_identities

    ids = identities if identities is not None else read_identities(conn, community_id)
    raw = ids.select(pl.col("external_id").alias("ext"), pl.col("display_name").alias("disp"), "member_id")
    both = pl.concat([raw.select(pl.col("ext").alias("raw"), "member_id"), raw.select(pl.col("disp").alias("raw"), "member_id")])
    both = both.filter(pl.col("raw").is_not_null() & (pl.col("raw") != ""))
    return normalise_names(both).select("name", "member_id").unique().filter(pl.col("name") != "")


#: what ``str.strip()`` removes from an ASCII string
_ASCII_SPACE = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"


def normalise_names(df: pl.DataFrame, col: str = "raw") -> pl.DataFrame:
    """``df`` with ``name`` = ``norm_name(col)``: in Polars for ASCII names (all but a few), in Python for the rest.

    Why: hundreds of thousands of account names one by one in Python took about a second; for ASCII
    ``norm_name`` is lowercase, strip, drop leading ``@`` and trailing punctuation, which Polars does
    in one pass and to the same result.
    """
    ascii_ = pl.col(col).str.contains(r"^[\x00-\x7f]*$")
    fast = (pl.col(col).str.to_lowercase().str.strip_chars(_ASCII_SPACE)
            .str.strip_chars_start("@").str.strip_chars_end(":,.;!?~"))
    df = df.with_columns(pl.when(ascii_).then(fast).otherwise(None).alias("name"))
    slow = df.filter(pl.col("name").is_null())
    if slow.height:
        fixed = slow.select(col).unique()
        fixed = fixed.with_columns(pl.Series("fixed", [norm_name(n) for n in fixed[col].to_list()], dtype=pl.Utf8))
        df = df.join(fixed, on=col, how="left", maintain_order="left").with_columns(
            pl.coalesce("name", "fixed").alias("name")).drop("fixed")
    return df


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
    parents = frame.clear() if wanted.height == 0 else frame  # no links (IRC): no pass over the frame at all
    parents = parents.filter(pl.col("member_id").is_not_null() & ~pl.col("is_bot").fill_null(False)).select(
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
        to = msgs.filter(pl.col("to").is_not_null()).with_columns(
            pl.col("to").cast(pl.Utf8).cast(pl.Categorical).to_physical().cast(pl.UInt64).alias("code"))
        # normalise each distinct addressee once (a few thousand names), not once per message (millions)
        distinct = normalise_names(to.unique("code").select("code", pl.col("to").alias("raw")))
        # who a name means in each group: the members with that name who speak there; a name two of them
        # share stays unresolved. Only names someone is addressed by matter, and each (group, addressee)
        # pair is resolved once, never per mention; pairs travel as one integer key (addressee code,
        # group), which joins millions of mentions much faster than the two columns with a string.
        named = names.select("name", pl.col("member_id").cast(pl.Int64)).join(distinct.select("name").unique(), on="name", how="semi")
        pair = pl.col("group_id").cast(pl.UInt64) * (1 << 32) + pl.col("member_id").cast(pl.UInt64)
        speakers = msgs.select(pair.alias("pair")).unique().select(
            (pl.col("pair") // (1 << 32)).cast(pl.Int64).alias("group_id"), (pl.col("pair") % (1 << 32)).cast(pl.Int64).alias("member_id"))
        in_group = speakers.join(named, on="member_id").filter(pl.len().over("group_id", "name") == 1)
        key = pl.col("code") * (1 << 32) + pl.col("group_id").cast(pl.UInt64)
        resolved = distinct.join(in_group, on="name").select(key.alias("key"), pl.col("member_id").alias("target_member_id"))
        to = to.with_columns(key.alias("key")).join(resolved, on="key", maintain_order="left")
    if to is not None:
        mentions = to.select(
            "id", "group_id", "member_id", "at_ms", "target_member_id",
            pl.lit(None, pl.Int64).alias("target_id"), pl.lit(None, pl.Int64).alias("target_at_ms"), pl.lit("mention").alias("via"),
        )
        bots = frame.filter(pl.col("is_bot").fill_null(False)).select(pl.col("member_id").cast(pl.Int64)).unique()
        parts.append(mentions.filter(~pl.col("target_member_id").is_in(bots["member_id"].implode())))
    out = pl.concat(parts, how="vertical_relaxed").filter(pl.col("target_member_id") != pl.col("member_id"))
    if replies_e.height == 0 and _strictly_ordered(out):
        # mentions only, in frame order: one `to` per message gives at most one edge per message, so
        # the unique and the sort below would change nothing (and cost seconds on millions of mentions)
        return out
    return out.unique(["id", "target_member_id"], keep="first").sort("at_ms", "id")


def _strictly_ordered(df: pl.DataFrame) -> bool:
    """Rows strictly ascending by (at_ms, id): no id twice in a row and already in the output order."""
    step = pl.col("at_ms").diff()
    return df.select(((step > 0) | ((step == 0) & (pl.col("id").diff() > 0))).fill_null(True).all()).item()
