"""``shequn insights --json``: one document with the community's and each group's numbers.

The store is read once into the analytics frame (history up to ``until``: first messages, cohorts,
decayed scores and churn models need the past), then every section is a pure function over it.
The *period* the operator asks about is ``[since, until)``: by default the 28 days that end with the
last stored event, so imported history reads as of its end and a live community as of now.
Text is read only where a section needs it: the period's messages (questions, keywords) and an even
sample of all history as the keyword background (``_background``). The schema is in docs/insights.md.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

import polars as pl
from sqlalchemy import Connection, select

from shequn.insights import actives, cohorts, heatmap, keywords, lifecycle
from shequn.insights.frame import (
    community_tz,
    display_names,
    load_frame,
    load_texts,
    read_identities,
)
from shequn.insights.presence import HUMAN_MESSAGE, with_local_day
from shequn.store.tables import communities, groups

SCHEMA_VERSION = 1
DAY_MS = 86_400_000
DEFAULT_PERIOD_DAYS = 28
TOP_N = 20
#: sampled sources for betweenness on big reply graphs: enough to rank the top bridges, bounded time
BETWEENNESS_SOURCES = 64
BACKGROUND_BLOCKS = 40
#: the order of the ``members`` section's keys in the document (docs/insights.md)
MEMBER_KEYS = ("activity_score", "pyramid", "activity_bands", "status", "newcomers", "inactive", "left", "churned_in_period",
               "recall", "recall_count", "response_time", "key_members", "absence_factor", "churn_risk")


class _Clock:
    """Times each section (seconds, added up per name): the benchmark prints them, operators see them in --json."""

    def __init__(self, into: dict[str, float]):
        self.into = into

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.into[name] = self.into.get(name, 0.0) + time.perf_counter() - start


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z") if ms is not None else None


def build_insights(
    conn: Connection,
    community_id: int,
    *,
    group_ids: list[int] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    top: int = TOP_N,
    extras: dict | None = None,
) -> dict:
    """The insights document (docs/insights.md) for a community, or for some of its groups.

    ``extras``: a dict that receives what a view of the document reuses instead of loading it again
    (the HTML report): ``frame`` (events up to ``until``) and ``responses`` (first responses of the
    period's questions, as the ``response_time`` section counts them).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    comm = conn.execute(select(communities.c.name).where(communities.c.id == community_id)).first()
    if comm is None:
        raise LookupError(f"no community with id {community_id}")
    tz = community_tz(conn, community_id)
    with clock("load"):
        identities = read_identities(conn, community_id)  # once: the frame's members and the names mentions resolve to
        # every section that needs local days reads them from one column (``presence.with_local_day``)
        frame = with_local_day(load_frame(conn, community_id, group_ids=group_ids, until_ms=until_ms, identities=identities), tz)
        if until_ms is None:
            until_ms = int(frame["at_ms"].max()) + 1 if frame.height else int(time.time() * 1000)
        if since_ms is None:
            since_ms = until_ms - DEFAULT_PERIOD_DAYS * DAY_MS
        if since_ms >= until_ms:
            raise ValueError("since must be before until")
        # the reply-link and addressee strings are half the frame's bytes and only the interactions need
        # them: every other section filters this copy, which moves a fraction of the memory
        slim = frame.drop("platform_id", "reply_to", "to")
        human = slim.filter(HUMAN_MESSAGE).select("id")
        texts = load_texts(conn, community_id, group_ids=group_ids, since_ms=since_ms, until_ms=until_ms, human=human)
        names = display_names(conn, community_id)
    period = frame.filter(pl.col("at_ms") >= since_ms)
    doc: dict = {
        "schema": SCHEMA_VERSION,
        "community": comm.name,
        "timezone": tz,
        "period": {"since": _iso(since_ms), "until": _iso(until_ms), "since_ms": since_ms, "until_ms": until_ms,
                   "days": round((until_ms - since_ms) / DAY_MS, 2)},
        "events": frame.height,
        "messages": int(period.filter(HUMAN_MESSAGE).height),
    }
    with_text = period.join(texts.select("id", "text"), on="id", how="left")
    from shequn.insights.interactions import member_names
    from shequn.insights.presence import active_days

    names_df = member_names(conn, community_id, identities)
    if keywords.has_chinese(texts):  # jieba loads its dictionary while the sections below run in Polars
        threading.Thread(target=keywords.warm_up, name="shequn-jieba", daemon=True).start()
    with clock("actives"):
        present = actives.present_members(slim, since_ms=since_ms, until_ms=until_ms)
        doc["actives"] = actives.actives_summary(slim, tz, since_ms=since_ms, until_ms=until_ms,
                                                 present=present["member_id"].n_unique())
    with clock("active_days"):  # member-days: cohorts, the pyramid, the recall list and churn risk all start from them
        days = active_days(slim, tz, until_ms=until_ms)
    with clock("cohorts"):
        doc["cohorts"] = cohorts.cohort_retention(slim, tz, as_of_ms=until_ms, days=days)
    with clock("heatmap"):
        doc["heatmap"] = heatmap.heatmap(slim, tz, since_ms=since_ms, until_ms=until_ms)
    with clock("keywords"):
        doc["keywords"] = _keywords(conn, community_id, group_ids, human, texts, tz, since_ms, until_ms, names)
    # (Running the edge sections in a second thread was measured: on two cores Polars already keeps
    # both busy at times, and the threads fought over them: more CPU, no less wall time.)
    member_doc = _member_sections(slim, days, tz, since_ms, until_ms, names, top, clock)
    edge_doc, responses, per_group_extra = _edge_sections(frame, slim, with_text, names_df, days, tz, since_ms, until_ms, names, top, clock)
    if extras is not None:
        extras.update(frame=frame, responses=responses)
    both = {**member_doc, **edge_doc}
    doc["members"] = {k: both[k] for k in MEMBER_KEYS}
    with clock("groups"):
        present_by_group = dict(present.group_by("group_id").agg(pl.col("member_id").n_unique()).iter_rows())
        doc["groups"] = _groups(conn, community_id, group_ids, slim, tz, since_ms, until_ms, per_group_extra, present_by_group)
    doc["stages"] = {s: sum(1 for g in doc["groups"] if g["lifecycle"]["stage"] == s) for s in ("growing", "stable", "declining", "dead")}
    doc["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    doc["elapsed_s"] = round(time.perf_counter() - started, 3)
    return doc


def _keywords(conn, community_id, group_ids, human, texts, tz, since_ms, until_ms, names) -> list[dict]:
    """Weekly keywords of the period (at most the last 4 weeks) against a sample of all history (``_background``)."""
    if human.height == 0:
        return keywords.keywords_by_period(texts, texts.select("id", "text"), as_of_ms=until_ms, tz=tz, periods=1)
    background = _background(conn, community_id, group_ids, human, until_ms)
    periods = max(1, min(4, -(-(until_ms - since_ms) // (7 * DAY_MS))))
    return keywords.keywords_by_period(texts, background, as_of_ms=until_ms, tz=tz, periods=periods,
                                       exclude={n.lower() for n in names.values() if n})


def _background(conn, community_id, group_ids, human: pl.DataFrame, until_ms: int) -> tuple[pl.DataFrame, int]:
    """Term counts (``keywords.document_counts``) and size of the keyword background.

    The background is blocks of ``BACKGROUND_SAMPLE / BACKGROUND_BLOCKS`` consecutive ids (ids are
    assigned in arrival order, so a block keeps whole conversations) that start at multiples of a
    stride: the block size itself when the history is at most ``BACKGROUND_SAMPLE`` ids long (so all
    of it), else the block size times the smallest power of two that leaves at most
    ``BACKGROUND_BLOCKS`` blocks. The database reads only those stretches of its primary key.

    Why multiples of a stride: the same blocks come back run after run (until the history doubles,
    and then every other one still does), and events never change, so each block's counts are kept
    beside the frame cache and a daily run tokenizes only blocks it has not seen (the newest). A
    cached block is used only while the frame's human messages in it are exactly those it was
    counted from (their number and a hash of their ids, per group filter), so new events in the
    block, a member turned bot or a replaced database all count it afresh.
    """
    import hashlib

    import numpy as np

    from shequn.insights.frame import _connectorx_url
    from shequn.insights.frame_cache import FrameCache

    ids = human["id"]
    lo, hi = int(ids.min()), int(ids.max())
    block = keywords.BACKGROUND_SAMPLE // BACKGROUND_BLOCKS
    stride = block
    if hi - lo + 1 > keywords.BACKGROUND_SAMPLE:
        while hi // stride - lo // stride + 1 > BACKGROUND_BLOCKS:
            stride *= 2
    inside = np.sort(ids.filter(ids % stride < block).to_numpy().astype(np.int64))
    if inside.size == 0:
        return keywords.document_counts(pl.DataFrame(schema={"id": pl.Int64, "text": pl.String})), 0
    blk = inside // stride
    starts = np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])
    mixed = (inside.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(0xD1B54A32D192ED03)
    with np.errstate(over="ignore"):
        sums = np.add.reduceat(mixed, starts)
    counts = np.diff(np.r_[starts, inside.size])
    want = {int(b): f"{int(n)}-{int(h):016x}" for b, n, h in zip(blk[starts], counts, sums)}

    url = _connectorx_url(conn)
    side = FrameCache(url, community_id).side() if url is not None else None
    scope = "all" if group_ids is None else hashlib.sha256(",".join(map(str, sorted({int(g) for g in group_ids}))).encode()).hexdigest()[:12]
    prefix = f"kw{keywords.TOKENS_VERSION}-{scope}-{stride}-"
    parts: list[pl.DataFrame] = []
    total = 0
    missing = []
    for b, key in want.items():
        hit = next(iter(side.glob(f"{prefix}{b}-{key}-*.parquet")), None) if side is not None else None
        try:
            if hit is None:
                raise OSError
            parts.append(pl.read_parquet(hit))
            total += int(hit.stem.rsplit("-", 1)[1])
        except (OSError, ValueError, pl.exceptions.PolarsError):
            missing.append(b)
    if missing:
        ranges = [(b * stride, b * stride + block - 1) for b in missing]
        texts = load_texts(conn, community_id, group_ids=group_ids, until_ms=until_ms, id_ranges=ranges, human=human)
        texts = texts.select("id", "text").with_columns((pl.col("id") // stride).alias("b"))
        for b in missing:
            mine = texts.filter(pl.col("b") == b)
            counted = keywords.document_counts(mine.select("id", "text"))
            parts.append(counted)
            total += mine.height
            if side is not None:
                _store(side, f"{prefix}{b}-{want[b]}-{mine.height}.parquet", counted)
    if side is not None:  # blocks of an earlier stride or an older state of a block are not needed again
        keep = {f"{prefix}{b}-{key}-" for b, key in want.items()}
        for path in side.glob(f"kw*-{scope}-*.parquet"):
            if path.name.rsplit("-", 1)[0] + "-" not in keep:
                path.unlink(missing_ok=True)
    merged = pl.concat(parts).group_by("term").agg(pl.col("n").sum()) if parts else keywords.document_counts(
        pl.DataFrame(schema={"id": pl.Int64, "text": pl.String}))
    return merged, total


def _store(side, name: str, df: pl.DataFrame) -> None:
    """Write under a temporary name and rename: a reader never sees half a file."""
    tmp = side / f".{name}.tmp"
    try:
        df.write_parquet(tmp)
        tmp.replace(side / name)
    except OSError:  # a cache that cannot be written is only slower
        tmp.unlink(missing_ok=True)


def _member_rows(df: pl.DataFrame, names: dict, top: int, cols: list[str]) -> list[dict]:
    out = []
    for row in df.head(top).select(cols).iter_rows(named=True):
        out.append({"member_id": row["member_id"], "name": names.get(row["member_id"]), **{c: row[c] for c in cols if c != "member_id"}})
    return out


def _member_sections(slim, days, tz, since_ms, until_ms, names, top, clock) -> dict:
    """The member-level sections that need no reply edges: pyramid, bands, status, recall, absence."""
    from shequn.insights import graph, membership, pyramid, recall

    in_period = pl.col("at_ms") >= since_ms
    with clock("pyramid"):
        tiers = pyramid.member_tiers(slim, as_of_ms=until_ms, tz=tz, days=days)
        bands = pyramid.activity_bands(slim.filter(in_period), as_of_ms=until_ms)
    with clock("membership"):
        status = membership.member_status(slim, as_of_ms=until_ms)
    with clock("recall"):
        recall_rows = recall.recall_list(slim, as_of_ms=until_ms, tz=tz, days=days)
    with clock("absence_factor"):
        absence = graph.absence_factor(slim.filter(in_period), as_of_ms=until_ms)
    churned = status.filter(pl.col("status") == "churned")
    return {
        "pyramid": {t: int((tiers["tier"] == t).sum()) for t in ("core", "active", "casual", "lurker")},
        "activity_bands": {b: int((bands["band"] == b).sum()) for b in ("top80", "top95", "rest")},
        "status": {s: int((status["status"] == s).sum()) for s in ("active", "lurker", "churned")},
        "newcomers": status.filter(pl.col("first_seen_ms") >= since_ms).height,
        "inactive": churned.filter(~pl.col("left")).height,
        "left": churned.filter(pl.col("left")).height,
        "churned_in_period": churned.filter(pl.col("last_message_ms") >= since_ms).height,
        "recall": _member_rows(recall_rows, names, top, ["member_id", "usual_gap_days", "silent_days", "overdue", "reason", "reason_zh"]),
        "recall_count": recall_rows.height,
        "absence_factor": {"absence_factor": absence["absence_factor"], "messages": absence["messages"],
                           "members": [{"member_id": m, "name": names.get(m)} for m in absence["members"][:top]]},
    }


def _edge_sections(frame, slim, with_text, names_df, days, tz, since_ms, until_ms, names, top, clock) -> tuple[dict, pl.DataFrame, dict]:
    """The sections built on reply/mention edges (no database access here).

    Returns the sections, the period's first responses (reused by the HTML report) and per-group
    response rates."""
    from shequn.insights import activity, churn, graph, response
    from shequn.insights.interactions import interactions

    in_period = pl.col("at_ms") >= since_ms
    with clock("interactions"):
        inter_all = interactions(frame, names=names_df)
        inter = inter_all.filter(in_period)
    with clock("response_time"):
        responses = response.first_responses(with_text, inter)
    with clock("activity_score"):
        scores = activity.activity_scores(slim, as_of_ms=until_ms, interactions=inter_all, answers=responses)
    with clock("key_members"):
        kols = graph.key_members(graph.centrality(inter, k=BETWEENNESS_SOURCES), top=top)
    with clock("churn_risk"):
        risk, info = churn.churn_risk(slim, as_of_ms=until_ms, tz=tz, interactions=inter_all, days=days)
    ranked = risk.filter(pl.col("risk").is_not_null()).sort(["risk", "member_id"], descending=[True, False])
    doc = {
        "activity_score": {
            "members_scored": scores.height,
            "median": float(scores["score"].median()) if scores.height else None,
            "top": _member_rows(scores.sort(["score", "member_id"], descending=[True, False]), names, top,
                                ["member_id", "score", "messages", "replies", "answers", "reactions"]),
        },
        "response_time": response.response_summary(responses, as_of_ms=until_ms, unanswered_limit=top),
        "key_members": _member_rows(kols, names, top, ["member_id", "rank", "pagerank", "betweenness", "repliers", "reason", "reason_zh"]),
        "churn_risk": {**info, "at_risk": int(risk["at_risk"].sum()) if risk.height else 0,
                       "top": _member_rows(ranked, names, top, ["member_id", "risk", "reasons"])},
    }
    per_group: dict[int, dict] = {}
    if responses.height:
        for (gid,), part in responses.group_by(["group_id"]):
            s = response.response_summary(part, as_of_ms=until_ms, unanswered_limit=0)
            per_group[int(gid)] = {"response_rate": s["answered_24h_share"]}
    return doc, responses, per_group


def _groups(conn, community_id, group_ids, frame, tz, since_ms, until_ms, extra, present_by_group) -> list[dict]:
    """Per group: actives, lifecycle stage, health. Each group's part of the frame is cut to the weeks
    its metrics look at (8 weeks of lifecycle, the period plus the 28-day window before it), so 50
    groups of a long history cost about as much as one pass over the recent events."""
    from shequn.insights.graph import absence_factor

    q = select(groups.c.id, groups.c.name, groups.c.platform, groups.c.kind).where(groups.c.community_id == community_id)
    if group_ids is not None:
        q = q.where(groups.c.id.in_(list(group_ids)))
    stages = lifecycle.group_lifecycle(frame, tz, as_of_ms=until_ms)
    start = min(since_ms - 30 * DAY_MS, until_ms - (7 * lifecycle.WEEKS + 2) * DAY_MS)
    recent = frame.filter(pl.col("at_ms") >= start)
    by_group = recent.partition_by("group_id", as_dict=True) if recent.height else {}
    out = []
    for g in conn.execute(q.order_by(groups.c.id)).all():
        part = by_group.get((g.id,), recent.clear())
        life = stages.get(g.id) or _empty_life(tz, until_ms)
        absent = absence_factor(part.filter(pl.col("at_ms") >= since_ms), as_of_ms=until_ms)["absence_factor"]
        out.append({
            "id": g.id, "name": g.name, "platform": g.platform, "kind": g.kind,
            "actives": actives.actives_summary(part, tz, since_ms=since_ms, until_ms=until_ms, daily=False,
                                               present=present_by_group.get(g.id, 0)),
            "lifecycle": life,
            "health": lifecycle.health(part, tz, as_of_ms=until_ms, lifecycle=life,
                                       response_rate=extra.get(g.id, {}).get("response_rate"), absence_factor=absent),
        })
    return out


def _empty_life(tz: str, until_ms: int) -> dict:
    """A group with no events at all: dead, with zero weeks."""
    empty = [{"week_start": lifecycle.week_start(until_ms, tz, w), "messages": 0, "speakers": 0, "joins": 0, "leaves": 0}
             for w in range(lifecycle.WEEKS)]
    return {"stage": "dead", "reason": "no events", "recent_speakers_median": None, "earlier_speakers_median": None,
            "trend": None, "age_weeks": 0, "weekly": empty}
