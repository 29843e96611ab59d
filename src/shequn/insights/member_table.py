"""The member table behind ``shequn members``: one row per member with scores, counts, tier, status, risk, reasons.

It joins the member metrics (each computed once, from one frame):
``activity.activity_scores`` (score + raw counts), ``pyramid.member_tiers`` / ``activity_bands``,
``membership.member_status``, ``recall.recall_list``, ``churn.churn_risk`` and, for the
answered-question counts, ``response.first_responses``.

``status`` is one of:
- ``churned``: spoke before and silent for 30 days, or left (``membership``);
- ``at-risk``: spoke within 30 days but the churn model gives risk >= 0.5, or they are on the recall list;
- ``active``: spoke within 30 days;
- ``lurker``: never spoke.

``as_of`` defaults to just after the last event of the selection, so an imported history from
years ago is judged at its own end, not today (a selection with no events at all is judged now).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Connection

from shequn.domain.events import from_ms
from shequn.insights.activity import activity_scores
from shequn.insights.churn import churn_risk
from shequn.insights.interactions import interactions as find_interactions
from shequn.insights.interactions import member_names
from shequn.insights.membership import member_status
from shequn.insights.pyramid import activity_bands, member_tiers
from shequn.insights.recall import recall_list
from shequn.insights.response import first_responses

STATUSES = ("active", "lurker", "churned", "at-risk")


@dataclass
class MemberTable:
    """``rows`` (dicts, busiest score first), the ``as_of`` instant, the churn model note, the community tz."""

    rows: list[dict]
    as_of_ms: int
    timezone: str
    churn: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"as_of": _iso(self.as_of_ms), "timezone": self.timezone, "churn_model": self.churn, "notes": self.notes,
                "members": self.rows}


def _iso(ms: int | None) -> str | None:
    return from_ms(ms).isoformat().replace("+00:00", "Z") if ms is not None else None


def build_member_table(
    frame: pl.DataFrame,
    *,
    tz: str,
    as_of_ms: int | None = None,
    names: dict[int, str] | None = None,
    interactions: pl.DataFrame | None = None,
    with_risk: bool = True,
) -> MemberTable:
    """The table from a ``load_frame`` frame (with ``text`` for answered questions; without it, answers are 0).

    ``interactions``: precomputed ``interactions.interactions(frame, replies, names)``; computed from
    explicit reply links only when omitted. ``names``: member id -> display name.
    """
    if as_of_ms is None:
        # an empty selection (no events yet, or a group with none) is judged now, as ``shequn insights`` does
        as_of_ms = int(frame["at_ms"].max()) + 1 if frame.height else int(time.time() * 1000)
    inter = interactions if interactions is not None else find_interactions(frame)
    answers = first_responses(frame, inter).filter(pl.col("answered_ms") < as_of_ms) if "text" in frame.columns else None
    scores = activity_scores(frame, as_of_ms=as_of_ms, interactions=inter.filter(pl.col("at_ms") < as_of_ms), answers=answers)
    tiers = member_tiers(frame, as_of_ms=as_of_ms, tz=tz)
    bands = activity_bands(frame, as_of_ms=as_of_ms).select("member_id", "band")
    status = member_status(frame, as_of_ms=as_of_ms)
    recall = recall_list(frame, as_of_ms=as_of_ms, tz=tz).with_row_index("recall_rank", offset=1)
    churn_info: dict = {"model": None, "note": "not computed"}
    risk = pl.DataFrame(schema={"member_id": pl.Int64, "risk": pl.Float64, "at_risk": pl.Boolean, "reasons": pl.List(pl.Utf8)})
    if with_risk:
        risk_full, churn_info = churn_risk(frame, as_of_ms=as_of_ms, tz=tz, interactions=inter)
        risk = risk_full.select("member_id", "risk", "at_risk", "reasons")
    table = (
        status.join(tiers, on="member_id", how="left")
        .join(scores, on="member_id", how="left")
        .join(bands, on="member_id", how="left")
        .join(recall.select("member_id", "recall_rank", "reason", "reason_zh", "usual_gap_days"), on="member_id", how="left")
        .join(risk, on="member_id", how="left")
        .with_columns(
            *(pl.col(c).fill_null(0) for c in ("messages", "replies", "answers", "reactions")),
            pl.col("score").fill_null(0.0), pl.col("band").fill_null("rest"), pl.col("at_risk").fill_null(False),
        )
        .sort(["score", "member_id"], descending=[True, False])
    )
    rows = []
    for r in table.iter_rows(named=True):
        st = r["status"]
        reasons: list[str] = []
        if st == "churned":
            reasons.append("left the group" if r["left"] else f"no message for {r['silent_days']} days")
        if r["reason"]:
            reasons.append(r["reason"])
        if st == "active" and (r["at_risk"] or r["recall_rank"] is not None):
            st = "at-risk"
            if r["at_risk"]:
                reasons.append(f"churn risk {r['risk']:.0%}")
        if st != "churned" and r["risk"] is not None:
            reasons.extend(r["reasons"] or [])
        if st == "lurker":
            reasons.append("never sent a message")
        rows.append({
            "member_id": r["member_id"],
            "name": (names or {}).get(r["member_id"], f"#{r['member_id']}"),
            "score": r["score"],
            "messages": r["messages"], "replies": r["replies"], "answers": r["answers"], "reactions": r["reactions"],
            "active_days_7": r["days_7"] or 0, "active_days_30": r["days_30"] or 0, "active_days_90": r["days_90"] or 0,
            "tier": r["tier"] or "lurker", "band": r["band"], "status": st, "newcomer": bool(r["newcomer"]),
            "first_seen": _iso(r["first_seen_ms"]), "last_message": _iso(r["last_message_ms"]), "silent_days": r["silent_days"],
            "risk": r["risk"], "recall_rank": r["recall_rank"], "reasons": reasons,
        })
    return MemberTable(rows, as_of_ms, tz, churn_info)


def replies_frame(conn: Connection, community_id: int, *, group_ids: list[int] | None = None, until_ms: int | None = None) -> pl.DataFrame:
    """``group_id, platform_id, parent``: reply links (explicit, else inferred) for the selection, streamed once."""
    from shequn.insights.replies import infer_replies
    from shequn.store.event_reader import iter_stored_events

    g, p, par = [], [], []
    for ev, parents in infer_replies(iter_stored_events(conn, community_id, group_ids=group_ids, until_ms=until_ms)):
        for parent in parents:
            g.append(ev.group_id)
            p.append(ev.platform_id)
            par.append(parent)
    return pl.DataFrame({"group_id": g, "platform_id": p, "parent": par},
                        schema={"group_id": pl.Int64, "platform_id": pl.Utf8, "parent": pl.Utf8})


def load_member_table(
    conn: Connection,
    community_id: int,
    *,
    group_ids: list[int] | None = None,
    as_of_ms: int | None = None,
    infer: bool = True,
    with_risk: bool = True,
) -> MemberTable:
    """Read the community (or some of its groups) from the store and build the table.

    ``infer``: use reply inference for platforms without reply links (one streamed pass over the
    events); without it only explicit reply links and recorded addressees count as replies.
    """
    from shequn.insights.frame import community_tz, display_names, load_frame

    tz = community_tz(conn, community_id)
    frame = load_frame(conn, community_id, group_ids=group_ids, until_ms=as_of_ms, with_text=True)
    replies, notes = None, []
    if infer and frame.height:
        from shequn.insights.replies.model import ModelError

        try:
            replies = replies_frame(conn, community_id, group_ids=group_ids, until_ms=as_of_ms)
        except ModelError as exc:  # a broken or stale model must not take the member table down with it
            notes.append(f"reply inference unavailable ({exc}); only explicit reply links and addressees count")
    inter = find_interactions(frame, replies, member_names(conn, community_id))
    names = display_names(conn, community_id)
    table = build_member_table(frame, tz=tz, as_of_ms=as_of_ms, names=names, interactions=inter, with_risk=with_risk)
    table.notes.extend(notes)
    return table
