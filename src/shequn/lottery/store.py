"""Lotteries and red packets in the database: create (commit to the seed), enter / grab (limits and
eligibility), draw (reveal the seed, store the published record).

The draw itself lives in ``lottery.fair`` as pure functions; this module only gathers their inputs
from the store and keeps the outputs, so ``shequn lottery verify`` needs nothing but the record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from shequn.domain.events import CHAT_KINDS
from shequn.lottery.fair import (
    RECORD_FORMAT,
    LotteryError,
    Prize,
    check_prizes,
    draw_winners,
    entries_hash,
    new_seed,
    seed_hash,
    split_red_packet,
)
from shequn.mall.who import member_names
from shequn.store.directory import now_ms
from shequn.store.tables import communities, events, identities, lotteries, lottery_entries

DAY_MS = 86_400_000
T = TypeVar("T")


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def retrying(engine: Engine, work: Callable[[Connection], T], attempts: int = 5) -> T:
    """Run ``work`` in its own transaction, again if a concurrent writer took the same unique slot
    (two grabs of the same red-packet share, two entries numbered alike): the loser simply retries
    with fresh counts, so nobody sees a constraint error for an ordinary race."""
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                return work(conn)
        except IntegrityError:
            if attempt == attempts - 1:
                raise LotteryError("too many people at once; please try again") from None
    raise AssertionError("unreachable")


def _get(conn: Connection, community_id: int, name: str):
    row = conn.execute(select(lotteries).where(lotteries.c.community_id == community_id, lotteries.c.name == name)).mappings().first()
    if row is None:
        known = conn.execute(select(lotteries.c.name).where(lotteries.c.community_id == community_id).order_by(lotteries.c.id)).scalars().all()
        raise LotteryError(f"no lottery named {name!r}" + (f"; there are: {', '.join(known[:20])}" if known else "; create one with shequn lottery create"))
    return row


def create_lottery(
    conn: Connection,
    community_id: int,
    name: str,
    prizes: list[Prize],
    *,
    max_entries: int = 1,
    one_prize_per_member: bool = True,
    min_points: int | None = None,
    spoke_within_days: int | None = None,
    closes_ms: int | None = None,
    committed_hash: str | None = None,
) -> dict:
    """A new open lottery. Without ``committed_hash`` a seed is generated and kept until the draw;
    with it, the operator holds the seed and gives it at the draw (it must hash to the commitment)."""
    check_prizes(prizes)
    if not name.strip():
        raise LotteryError("a lottery needs a name")
    if max_entries < 1:
        raise LotteryError("--max-entries must be at least 1")
    if committed_hash is not None:
        committed_hash = committed_hash.strip().lower()
        if len(committed_hash) != 64 or any(c not in "0123456789abcdef" for c in committed_hash):
            raise LotteryError("--seed-hash must be a sha256 hex digest (64 characters 0-9a-f)")
    seed = None if committed_hash else new_seed()
    _insert(conn, community_id, name, "draw", seed, committed_hash or seed_hash(seed), closes_ms, {
        "prizes": [p.as_dict() for p in prizes],
        "max_entries": max_entries,
        "one_prize_per_member": one_prize_per_member,
        "min_points": min_points,
        "spoke_within_days": spoke_within_days,
    })
    return public_record(conn, community_id, name)


def create_red_packet(conn: Connection, community_id: int, name: str, *, total: int, shares: int, minimum: int = 1, points: bool = False) -> dict:
    """拼手气红包: the split is fixed now (from a fresh seed) and only its hash is shown until the
    last share is grabbed; with ``points`` each grab credits its share to the member's points."""
    if not name.strip():
        raise LotteryError("a red packet needs a name")
    seed = new_seed()
    amounts = split_red_packet(seed, total, shares, minimum)
    _insert(conn, community_id, name, "redpacket", seed, seed_hash(seed), None, {
        "total": total, "shares": shares, "minimum": minimum, "points": points, "amounts": amounts,
    })
    return public_record(conn, community_id, name)


def _insert(conn, community_id, name, kind, seed, hashed, closes_ms, config) -> None:
    if len(name) > 200 or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise LotteryError("a lottery name is at most 200 characters, without control or invisible characters")
    if conn.execute(select(lotteries.c.id).where(lotteries.c.community_id == community_id, lotteries.c.name == name)).first():
        raise LotteryError(f"a lottery named {name!r} already exists")
    conn.execute(lotteries.insert().values(
        community_id=community_id, name=name, kind=kind, status="open", seed=seed, seed_hash=hashed,
        config=config, created_ms=now_ms(), closes_ms=closes_ms,
    ))


def check_eligible(conn: Connection, community_id: int, member_id: int, config: dict, at_ms: int, ledger=None) -> None:
    """Raise LotteryError saying which condition a member misses (points, recent speaking)."""
    need = config.get("min_points")
    if need:
        if ledger is None:
            raise LotteryError("this lottery requires points, but the points ledger is not available")
        have = ledger.balance(member_id)
        if have < need:
            raise LotteryError(f"member {member_id} has {have} points; this lottery requires at least {need}")
    days = config.get("spoke_within_days")
    if days:
        spoke = conn.execute(
            select(events.c.id)
            .join(identities, identities.c.id == events.c.identity_id)
            .where(
                identities.c.member_id == member_id,
                events.c.community_id == community_id,
                events.c.kind.in_([k.value for k in CHAT_KINDS]),
                events.c.at_ms >= at_ms - days * DAY_MS,
                events.c.at_ms <= at_ms,
            )
            .limit(1)
        ).first()
        if spoke is None:
            raise LotteryError(f"member {member_id} has not spoken in the last {days} day(s); this lottery requires it")


def enter(conn: Connection, community_id: int, name: str, member_id: int, *, at_ms: int | None = None, ledger=None) -> int:
    """Add one entry; return the member's entry number. Limits and eligibility are checked here."""
    at_ms = now_ms() if at_ms is None else at_ms
    lot = _get(conn, community_id, name)
    if lot["kind"] != "draw":
        raise LotteryError(f"{name!r} is a red packet: grab a share with shequn lottery grab")
    if lot["status"] != "open":
        raise LotteryError(f"lottery {name!r} was drawn at {_iso(lot['drawn_ms'])}; entries are closed")
    if lot["closes_ms"] is not None and at_ms >= lot["closes_ms"]:
        raise LotteryError(f"entries to {name!r} closed at {_iso(lot['closes_ms'])}")
    cfg = lot["config"]
    had = conn.execute(
        select(func.count()).where(lottery_entries.c.lottery_id == lot["id"], lottery_entries.c.member_id == member_id)
    ).scalar_one()
    if had >= cfg["max_entries"]:
        raise LotteryError(f"member {member_id} already has {had} entr{'y' if had == 1 else 'ies'} in {name!r}; the limit is {cfg['max_entries']} per member")
    check_eligible(conn, community_id, member_id, cfg, at_ms, ledger)
    conn.execute(lottery_entries.insert().values(lottery_id=lot["id"], member_id=member_id, member_entry=had + 1, created_ms=at_ms))
    return had + 1


def grab(conn: Connection, community_id: int, name: str, member_id: int, *, at_ms: int | None = None, ledger=None) -> dict:
    """Take the next share of a red packet (one per member). With points, the share is credited in
    the same transaction; the last grab reveals the seed so the split can be verified."""
    at_ms = now_ms() if at_ms is None else at_ms
    lot = _get(conn, community_id, name)
    if lot["kind"] != "redpacket":
        raise LotteryError(f"{name!r} is a lottery, not a red packet: use shequn lottery enter")
    cfg = lot["config"]
    taken = conn.execute(select(lottery_entries.c.member_id, lottery_entries.c.amount).where(lottery_entries.c.lottery_id == lot["id"])).all()
    if any(m == member_id for m, _ in taken):
        raise LotteryError(f"member {member_id} already grabbed a share of {name!r}")
    share = len(taken)
    if share >= cfg["shares"]:
        raise LotteryError(f"all {cfg['shares']} shares of {name!r} have been grabbed")
    if lot["status"] != "open":
        raise LotteryError(f"red packet {name!r} was closed at {_iso(lot['drawn_ms'])} with {share} of {cfg['shares']} shares grabbed")
    amount = cfg["amounts"][share]
    conn.execute(lottery_entries.insert().values(
        lottery_id=lot["id"], member_id=member_id, member_entry=1, share=share, amount=amount, created_ms=at_ms,
    ))
    if cfg.get("points"):
        if ledger is None:
            raise LotteryError("this red packet pays points, but the points ledger is not available")
        ledger.post(
            member_id=member_id, amount=amount, rule="lottery.redpacket", key=f"redpacket:{lot['id']}:{share}", at_ms=at_ms,
            reason=f"红包 red packet {name!r}: share {share + 1} of {cfg['shares']}", counter="redpacket",
        )
    if share + 1 == cfg["shares"]:
        conn.execute(lotteries.update().where(lotteries.c.id == lot["id"]).values(status="drawn", drawn_ms=at_ms))
    return {"share": share, "amount": amount, "shares": cfg["shares"], "last": share + 1 == cfg["shares"]}


def draw(conn: Connection, community_id: int, name: str, *, seed: str | None = None, beacon: str | None = None, at_ms: int | None = None) -> dict:
    """Close the lottery, reveal the seed, pick the winners and store the published record."""
    at_ms = now_ms() if at_ms is None else at_ms
    lot = _get(conn, community_id, name)
    if lot["kind"] == "redpacket":
        if lot["status"] == "open":
            # closing a red packet early reveals its seed; the shares nobody grabbed go back to the operator
            conn.execute(lotteries.update().where(lotteries.c.id == lot["id"]).values(status="drawn", drawn_ms=at_ms))
        return public_record(conn, community_id, name)
    if lot["status"] != "open":
        raise LotteryError(f"lottery {name!r} was already drawn at {_iso(lot['drawn_ms'])}; shequn lottery show {name} has the record")
    if lot["seed"] is None:
        if not seed:
            raise LotteryError(f"lottery {name!r} was committed with your own seed hash; give the seed: --seed SEED")
        if seed_hash(seed) != lot["seed_hash"]:
            raise LotteryError("that seed does not hash to the published commitment; the draw needs the original seed")
    elif seed and seed != lot["seed"]:
        raise LotteryError("this lottery's seed was generated at creation; do not pass --seed")
    seed = lot["seed"] or seed
    entries = _entries(conn, lot["id"])
    prizes = [Prize.from_dict(p) for p in lot["config"]["prizes"]]
    winners = draw_winners(seed, entries, prizes, one_prize_per_member=lot["config"]["one_prize_per_member"], beacon=beacon)
    # the entry list is kept with the result: the published record must verify forever, even after
    # a merge of members moves entries (shequn.lottery.merge)
    conn.execute(lotteries.update().where(lotteries.c.id == lot["id"]).values(
        status="drawn", seed=seed, drawn_ms=at_ms, result={"winners": winners, "beacon": beacon, "entries": entries},
    ))
    return public_record(conn, community_id, name)


def _entries(conn: Connection, lottery_id: int) -> list[list[int]]:
    rows = conn.execute(select(lottery_entries.c.member_id, lottery_entries.c.member_entry).where(lottery_entries.c.lottery_id == lottery_id))
    return sorted([int(m), int(n)] for m, n in rows)


def public_record(conn: Connection, community_id: int, name: str) -> dict:
    """What the operator publishes: before the draw, the commitment and the entries; after it, the
    seed and the result too. ``shequn lottery verify`` re-checks this document alone."""
    lot = _get(conn, community_id, name)
    revealed = lot["status"] == "drawn"
    community = conn.execute(select(communities.c.name).where(communities.c.id == community_id)).scalar_one()
    cfg = lot["config"]
    doc = {
        "format": RECORD_FORMAT, "kind": lot["kind"], "lottery": lot["name"], "community": community, "status": lot["status"],
        "created": _iso(lot["created_ms"]), "closes": _iso(lot["closes_ms"]), "drawn": _iso(lot["drawn_ms"]),
        "seed_hash": lot["seed_hash"], "seed": lot["seed"] if revealed else None,
    }
    if lot["kind"] == "redpacket":
        grabs = conn.execute(
            select(lottery_entries.c.member_id, lottery_entries.c.share, lottery_entries.c.amount)
            .where(lottery_entries.c.lottery_id == lot["id"]).order_by(lottery_entries.c.share)
        ).all()
        names = member_names(conn, [g.member_id for g in grabs])
        doc.update({
            "total": cfg["total"], "shares": cfg["shares"], "minimum": cfg["minimum"], "points": cfg.get("points", False),
            "amounts": cfg["amounts"] if revealed else None,
            "grabs": [{"share": g.share, "amount": g.amount, "member_id": g.member_id, "name": names.get(g.member_id)} for g in grabs],
        })
        return doc
    result = lot["result"] or {}
    entries = result["entries"] if revealed and "entries" in result else _entries(conn, lot["id"])
    doc.update({
        "prizes": cfg["prizes"], "max_entries": cfg["max_entries"], "one_prize_per_member": cfg["one_prize_per_member"],
        "eligibility": {"min_points": cfg.get("min_points"), "spoke_within_days": cfg.get("spoke_within_days")},
        "entries": entries, "entries_sha256": entries_hash(entries),
    })
    if revealed:
        merged = {int(k): v for k, v in (result.get("merged") or {}).items()}  # winners merged into another member since
        names = member_names(conn, [merged.get(w["member_id"], w["member_id"]) for w in result.get("winners", [])])
        doc["beacon"] = result.get("beacon")
        doc["winners"] = [
            {**w, "name": names.get(merged.get(w["member_id"], w["member_id"]))} | ({"merged_into": merged[w["member_id"]]} if w["member_id"] in merged else {})
            for w in result.get("winners", [])
        ]
    return doc


def list_lotteries(conn: Connection, community_id: int) -> list[dict]:
    rows = conn.execute(
        select(lotteries.c.name, lotteries.c.kind, lotteries.c.status, lotteries.c.created_ms, func.count(lottery_entries.c.id).label("entries"))
        .outerjoin(lottery_entries, lottery_entries.c.lottery_id == lotteries.c.id)
        .where(lotteries.c.community_id == community_id)
        .group_by(lotteries.c.id, lotteries.c.name, lotteries.c.kind, lotteries.c.status, lotteries.c.created_ms)
        .order_by(lotteries.c.id)
    )
    return [{"lottery": r.name, "kind": r.kind, "status": r.status, "created": _iso(r.created_ms), "entries": r.entries} for r in rows]
