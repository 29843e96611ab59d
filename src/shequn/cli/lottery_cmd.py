"""``shequn lottery``: lotteries (抽奖) and red packets (拼手气红包) anyone can re-verify."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import select

from shequn.cli.context import console, err_console, fail, print_json, state
from shequn.cli.mall_cmd import community_id
from shequn.domain.events import to_ms
from shequn.lottery import store
from shequn.lottery.fair import LotteryError, parse_prize, verify_record
from shequn.mall.ledger import LedgerUnavailable, ledger_for
from shequn.mall.who import MemberNotFound, find_member, safe_text
from shequn.store.tables import communities

app = typer.Typer(help="抽奖 lotteries and 拼手气红包 red packets: seed committed in advance, draw re-verifiable by anyone.", no_args_is_help=True)

Community = Annotated[str, typer.Option("--community", "-c", help="Community the lottery belongs to.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (the publishable record).")]


def _closes(conn, cid: int, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--closes {value!r} is not a date/time (ISO 8601, e.g. 2024-06-01T20:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(conn.execute(select(communities.c.timezone).where(communities.c.id == cid)).scalar_one()))
    return to_ms(dt)


def _print_record(doc: dict) -> None:
    console.print(f"[bold]{safe_text(doc['lottery'])}[/] ({doc['kind']}, {doc['status']}) in {safe_text(doc['community'])}", highlight=False)
    console.print(f"  seed sha256 (published before entries close): {doc['seed_hash']}")
    if doc["seed"]:
        console.print(f"  seed (revealed): {doc['seed']}")
    if doc["kind"] == "redpacket":
        console.print(f"  total {doc['total']:,} in {doc['shares']} shares (each >= {doc['minimum']}); {len(doc['grabs'])} grabbed"
                      + ("; paid in points" if doc["points"] else ""))
        for g in doc["grabs"]:
            console.print(f"  share {g['share'] + 1}: {g['amount']:,} → {safe_text(g['name'])} (member {g['member_id']})", highlight=False)
        return
    prizes = ", ".join(f"{safe_text(p['name'])} × {p['count'] if p['count'] is not None else '∞'}" + (f" @ {p['odds']:g}" if p["odds"] is not None else "") for p in doc["prizes"])
    console.print(f"  prizes: {prizes}; up to {doc['max_entries']} entr{'y' if doc['max_entries'] == 1 else 'ies'} per member", highlight=False)
    elig = doc["eligibility"]
    if elig["min_points"] or elig["spoke_within_days"]:
        console.print("  eligibility: " + ", ".join(
            ([f"points >= {elig['min_points']}"] if elig["min_points"] else []) + ([f"spoke in the last {elig['spoke_within_days']} day(s)"] if elig["spoke_within_days"] else [])))
    console.print(f"  entries: {len(doc['entries']):,} (sha256 {doc['entries_sha256'][:16]}…)" + (f"; closes {doc['closes']}" if doc["closes"] else ""))
    for w in doc.get("winners", []):
        console.print(f"  🎉 {safe_text(w['prize'])}: {safe_text(w['name'])} (member {w['member_id']}, entry {w['entry']})", highlight=False)
    if doc["status"] == "drawn" and not doc.get("winners"):
        console.print("  no winners (no entries, or nobody drew a prize)")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lottery name, e.g. 周年庆抽奖.")],
    prize: Annotated[list[str], typer.Option("--prize", "-p", help="NAME:COUNT (fixed count) or NAME:COUNT@ODDS / NAME:*@ODDS (chance per entry). Repeat for several prizes.")],
    max_entries: Annotated[int, typer.Option("--max-entries", min=1, help="Entries per member.")] = 1,
    several_prizes: Annotated[bool, typer.Option("--several-prizes", help="Let one member win more than one prize.")] = False,
    min_points: Annotated[Optional[int], typer.Option("--min-points", min=1, help="Only members with at least this many points may enter.")] = None,
    spoke_within_days: Annotated[Optional[int], typer.Option("--spoke-within-days", min=1, help="Only members who spoke in the last N days may enter.")] = None,
    closes: Annotated[Optional[str], typer.Option("--closes", help="Entries close at this time (ISO 8601; community time zone unless an offset is given).")] = None,
    seed_hash: Annotated[Optional[str], typer.Option("--seed-hash", help="Commit to YOUR seed: its sha256 hex. Give the seed at the draw. Default: Shequn makes a seed and keeps it until the draw.")] = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Create a lottery and publish its seed commitment (sha256) before anyone enters."""
    try:
        prizes = [parse_prize(p) for p in prize]
        with state(ctx).engine().begin() as conn:
            cid = community_id(conn, community, create=True)
            doc = store.create_lottery(conn, cid, name, prizes, max_entries=max_entries, one_prize_per_member=not several_prizes,
                                       min_points=min_points, spoke_within_days=spoke_within_days, closes_ms=_closes(conn, cid, closes),
                                       committed_hash=seed_hash)
    except LotteryError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(doc)
        return
    _print_record(doc)
    console.print("publish the seed sha256 now; after the draw anyone can check the result with: shequn lottery verify --file RECORD.json")


@app.command("redpacket")
def redpacket(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Red packet name.")],
    total: Annotated[int, typer.Option("--total", min=1, help="Total to split (points, or cents/分 for money).")],
    shares: Annotated[int, typer.Option("--shares", "-n", min=1, help="How many shares.")],
    minimum: Annotated[int, typer.Option("--min", min=0, help="Smallest share.")] = 1,
    points: Annotated[bool, typer.Option("--points", help="Credit each grabbed share to the member's points.")] = False,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """拼手气红包: split TOTAL into N random shares (each >= --min, summing exactly to TOTAL), committed now."""
    try:
        with state(ctx).engine().begin() as conn:
            doc = store.create_red_packet(conn, community_id(conn, community, create=True), name, total=total, shares=shares, minimum=minimum, points=points)
    except LotteryError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(doc)
        return
    _print_record(doc)


def _member(conn, cid: int, who: str) -> int:
    try:
        return find_member(conn, cid, who)
    except MemberNotFound as exc:
        raise fail(str(exc)) from None


@app.command("enter")
def enter(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lottery name.")],
    member: Annotated[str, typer.Argument(help="Member id, account or display name.")],
    community: Community = "default",
) -> None:
    """Enter a member (checks the per-member limit and eligibility)."""
    engine = state(ctx).engine()
    with engine.connect() as conn:
        cid = community_id(conn, community)
        mid = _member(conn, cid, member)
    try:
        n = store.retrying(engine, lambda conn: store.enter(conn, cid, name, mid, ledger=ledger_for(conn, cid)))
    except (LotteryError, LedgerUnavailable) as exc:
        raise fail(str(exc)) from None
    console.print(f"member {mid} entered {safe_text(name)} (entry {n})", highlight=False)


@app.command("grab")
def grab(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Red packet name.")],
    member: Annotated[str, typer.Argument(help="Member id, account or display name.")],
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Grab the next share of a red packet (one per member)."""
    engine = state(ctx).engine()
    with engine.connect() as conn:
        cid = community_id(conn, community)
        mid = _member(conn, cid, member)
    try:
        got = store.retrying(engine, lambda conn: store.grab(conn, cid, name, mid, ledger=ledger_for(conn, cid)))
    except (LotteryError, LedgerUnavailable) as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json({"member_id": mid, **got})
        return
    console.print(f"member {mid} grabbed share {got['share'] + 1} of {got['shares']}: {got['amount']:,}"
                  + ("; that was the last share, the seed is revealed (shequn lottery verify)" if got["last"] else ""), highlight=False)


@app.command("draw")
def draw(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lottery name.")],
    seed: Annotated[Optional[str], typer.Option("--seed", help="Your seed, if you created the lottery with --seed-hash.")] = None,
    beacon: Annotated[Optional[str], typer.Option("--beacon", help="A public value nobody knew before entries closed (e.g. a later lottery number); mixed into the draw.")] = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Close entries, reveal the seed and draw the winners (a red packet: close it and reveal its seed)."""
    try:
        with state(ctx).engine().begin() as conn:
            doc = store.draw(conn, community_id(conn, community), name, seed=seed, beacon=beacon)
    except LotteryError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(doc)
        return
    _print_record(doc)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Lottery name (leave out to list them).")] = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Show a lottery's record (publish it with --json), or list the lotteries."""
    with state(ctx).engine().connect() as conn:
        cid = community_id(conn, community)
        try:
            doc = store.public_record(conn, cid, name) if name else store.list_lotteries(conn, cid)
        except LotteryError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(doc)
        return
    if name:
        _print_record(doc)
        return
    table = Table("lottery", "kind", "status", "entries", "created")
    for d in doc:
        table.add_row(safe_text(d["lottery"]), d["kind"], d["status"], f"{d['entries']:,}", d["created"])
    console.print(table)


@app.command("verify")
def verify(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Lottery name (checks the stored record).")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="A published record (from shequn lottery show NAME --json); needs no database.")] = None,
    community: Community = "default",
) -> None:
    """Recompute the draw (or red-packet split) from a published record: same seed, entries and prizes → same winners."""
    if (name is None) == (file is None):
        raise fail("give a lottery NAME or --file RECORD.json", 2)
    if file is not None:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise fail(f"{file}: cannot read the record: {exc}") from None
        if not isinstance(record, dict):
            raise fail(f"{file}: a record is a JSON object (from shequn lottery show NAME --json)")
    else:
        with state(ctx).engine().connect() as conn:
            try:
                record = store.public_record(conn, community_id(conn, community), name)
            except LotteryError as exc:
                raise fail(str(exc)) from None
    problems = verify_record(record)
    if problems:
        for p in problems:
            err_console.print(f"[bold red]FAILED[/] {p}", highlight=False)
        raise typer.Exit(1)
    what = f"{len(record.get('winners', []))} winner(s)" if record.get("kind") != "redpacket" else f"{record.get('shares')} shares"
    console.print(f"verified: sha256(seed) matches the commitment and the seed gives exactly the published {what}", highlight=False)
