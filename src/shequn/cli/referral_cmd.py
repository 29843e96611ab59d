"""``shequn referral``: referral codes and links, the attribution tree, the invite leaderboard.

Tree and leaderboard read the referral module's live state (what ``shequn receive`` built), or with
``--playbook`` replay the stored history through that playbook's ``referral:`` section first, so they
work on imported history too.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.tree import Tree
from sqlalchemy import select

from shequn.cli.context import console, fail, print_json, state
from shequn.cli.mall_cmd import community_id
from shequn.engine.backtest import run_backtest
from shequn.engine.state import DbState
from shequn.mall.who import MemberNotFound, find_member, member_names, safe_text
from shequn.playbook.errors import PlaybookError
from shequn.playbook.loader import load_playbook
from shequn.playbook.schema import Playbook
from shequn.referral.book import MODULE, Book
from shequn.referral.codes import invite_link, referral_code
from shequn.store.tables import communities

app = typer.Typer(help="裂变 referral: codes and links per member, who brought whom, the invite leaderboard.", no_args_is_help=True)

Community = Annotated[str, typer.Option("--community", "-c", help="Community (ignored with --playbook, which names its own).")]
PlaybookOpt = Annotated[Optional[Path], typer.Option("--playbook", help="Replay stored history through this playbook's referral: section instead of reading live state.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def _book(conn, community: str, playbook: Path | None) -> tuple[int, Book]:
    if playbook is None:
        cid = community_id(conn, community)
        return cid, Book(DbState(conn, cid))
    try:
        pb = load_playbook(playbook)
    except PlaybookError as exc:
        raise fail(f"invalid playbook:\n{exc}") from None
    if MODULE not in pb.modules:
        raise fail(f"{playbook} has no referral: section; add one (see shequn playbook example)")
    cid = conn.execute(select(communities.c.id).where(communities.c.name == pb.community)).scalar()
    if cid is None:
        raise fail(f"community {safe_text(pb.community)} (from the playbook) has no history; import some first")
    only = Playbook(core=pb.core, modules={MODULE: pb.modules[MODULE]}, source=pb.source)
    return cid, Book(run_backtest(conn, only, cid).state)


@app.command("code")
def code(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id, account or display name.")],
    link: Annotated[Optional[str], typer.Option("--link", help="Base URL of your landing page or join page; prints BASE?ref=CODE.")] = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """A member's referral code (and link): a join carrying it (payload invite_code) is attributed to them."""
    with state(ctx).engine().connect() as conn:
        cid = community_id(conn, community)
        try:
            mid = find_member(conn, cid, member)
        except MemberNotFound as exc:
            raise fail(str(exc)) from None
        name = member_names(conn, [mid]).get(mid)
    c = referral_code(cid, mid)
    doc = {"member_id": mid, "name": name, "code": c, "link": invite_link(link, c) if link else None}
    if as_json:
        print_json(doc)
        return
    console.print(f"{safe_text(name)} (member {mid}): referral code [bold]{c}[/]" + (f"\n  link: {doc['link']}" if link else ""), highlight=False)


def _node_doc(book: Book, member: int, names: dict[int, str], depth: int, max_depth: int, seen: set[int]) -> dict:
    seen.add(member)
    inv = book.invite(member) if depth else None
    doc = {"member_id": member, "name": names.get(member), "depth": depth}
    if inv:
        doc.update(status=inv.get("status"), why=inv.get("why"), invited_at=_iso(inv.get("at")), how=inv.get("how"))
    kids = [k for k in book.kids(member) if k not in seen]
    if depth < max_depth:
        doc["invited"] = [_node_doc(book, k, names, depth + 1, max_depth, seen) for k in kids]
    else:
        doc["invited_not_shown"] = len(kids)
    return doc


_STATUS = {"vested": "[green]vested[/]", "pending": "[yellow]pending[/]", "revoked": "[red]revoked[/]", "void": "[red]void[/]"}


def _add(tree: Tree, doc: dict) -> None:
    label = f"{safe_text(doc['name'])} (member {doc['member_id']})"
    if doc.get("status"):
        label += f" — {_STATUS.get(doc['status'], doc['status'])}: {safe_text(doc.get('why'), 200)}"
    branch = tree.add(label, highlight=False)
    for kid in doc.get("invited", []):
        _add(branch, kid)
    if doc.get("invited_not_shown"):
        branch.add(f"… {doc['invited_not_shown']} more below (raise --depth)")


@app.command("tree")
def tree(
    ctx: typer.Context,
    member: Annotated[Optional[str], typer.Argument(help="Start from this member (default: every top inviter).")] = None,
    depth: Annotated[int, typer.Option("--depth", min=1, help="Show this many levels.")] = 10,
    playbook: PlaybookOpt = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Who brought whom: each invite with its status (pending, vested, revoked, void) and why."""
    with state(ctx).engine().connect() as conn:
        cid, book = _book(conn, community, playbook)
        if member is not None:
            try:
                roots = [find_member(conn, cid, member)]
            except MemberNotFound as exc:
                raise fail(str(exc)) from None
        else:
            roots = book.roots()
        ids: set[int] = set()
        for r in roots:
            ids.update(n.member_id for n in book.walk(r, depth))
        names = member_names(conn, ids)
    seen: set[int] = set()
    docs = [_node_doc(book, r, names, 0, depth, seen) for r in roots]
    if as_json:
        print_json(docs)
        return
    if not docs:
        console.print("no invites yet" + ("" if playbook else " in live state (try --playbook PLAYBOOK to replay imported history)"))
        return
    top = Tree("裂变 referral tree", highlight=False)
    for d in docs:
        _add(top, d)
    console.print(top)


@app.command("leaderboard")
def leaderboard(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
    playbook: PlaybookOpt = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Invite leaderboard: vested invites first (people who stayed and spoke), then pending ones."""
    from rich.table import Table

    with state(ctx).engine().connect() as conn:
        _, book = _book(conn, community, playbook)
        rows = book.leaderboard()[:limit]
        names = member_names(conn, [r["member_id"] for r in rows])
    docs = [{"rank": i + 1, "name": names.get(r["member_id"]), **r} for i, r in enumerate(rows)]
    if as_json:
        print_json(docs)
        return
    table = Table("#", "member", "vested", "pending", "revoked", "void", "ignored", "points", title="邀请排行榜 invite leaderboard")
    for d in docs:
        table.add_row(str(d["rank"]), f"{safe_text(d['name'])} ({d['member_id']})", str(d["vested"]), str(d["pending"]),
                      str(d["revoked"]), str(d["void"]), str(d["ignored"]), str(d["points"]))
    console.print(table)
