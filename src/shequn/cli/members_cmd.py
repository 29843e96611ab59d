"""``shequn members``: look people up, merge identities of one person, split them back out, tag."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from shequn.cli.context import console, fail, print_json, state
from shequn.cli.members_list import list_members
from shequn.cli.points_cmd import show_member_points
from shequn.cli.who import community_of, member_id, pick_community, pick_member
from shequn.mall.who import safe_text
from shequn.points.leaderboard import points_overview
from shequn.store.members import MemberError, add_tag, remove_tag, find_members, member_overview, merge_members, split_identity

app = typer.Typer(help="Members and their identities (one person, several platform accounts).", invoke_without_command=True)
# bare `shequn members` lists the member table (scores, tier, status, risk, reasons): shequn.cli.members_list
app.callback(invoke_without_command=True)(list_members)


def _show(doc: dict) -> None:
    console.print(f"[bold]member {doc['id']}[/]  {doc['name']}", highlight=False)
    for i in doc["identities"]:
        console.print(f"  identity {i['id']}: {i['platform']} {i['account']!r} ({i['name']}){' [bot]' if i['bot'] else ''}", highlight=False)
    if doc["roles"]:
        console.print("  roles: " + ", ".join(r["role"] + (f"@group {r['group_id']}" if r["group_id"] else "") for r in doc["roles"]))
    if doc["tags"]:
        console.print("  tags: " + ", ".join(doc["tags"]), highlight=False)
    console.print("  events: " + (", ".join(f"{k} {v:,}" for k, v in sorted(doc["events"].items())) or "none"))
    if "points" in doc:
        show_member_points(doc["points"])


MEMBER_HELP = "Member id, or an account or display name (looked up in --community; an ambiguous name lists the candidates)."
Community = Annotated[Optional[str], typer.Option("--community", "-c", help="Community (default: the member's, or the only one).")]


@app.command("show")
def show(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(metavar="MEMBER", help="Member id, or an account / display name to search for.")],
    community: Community = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a member: identities, roles, tags, what they did, and their points with reasons."""
    with state(ctx).engine().connect() as conn:
        # the resolution every command uses (cli.who), except that a name several members share shows
        # all of them: this is where an operator goes to find the right id
        cid = community_of(conn, who) if community is None else None
        if cid is not None:
            docs = [member_overview(conn, int(who))]
        else:
            comm = pick_community(conn, community)
            community = comm.name
            docs = find_members(conn, comm.id, who.strip())
        for d in docs:  # points: balance, level, badges, history with reasons
            d["points"] = points_overview(conn, d["id"])
    if not docs:
        raise fail(f"no member named {safe_text(repr(who))} in community {safe_text(repr(community))}")
    if as_json:
        print_json(docs if len(docs) > 1 else docs[0])
        return
    for d in docs:
        _show(d)


@app.command("merge")
def merge(
    ctx: typer.Context,
    keep: Annotated[str, typer.Argument(metavar="KEEP", help="The member to keep: " + MEMBER_HELP)],
    others: Annotated[list[str], typer.Argument(metavar="OTHER...", help="Members whose identities, points, redemptions, lottery entries and invites move onto KEEP.")],
    community: Community = None,
) -> None:
    """Merge members: one person with several accounts. History is not rewritten; identities move, and
    what belongs to the person (points, mall redemptions, lottery entries, invites) moves with them."""
    with state(ctx).engine().begin() as conn:
        cid, keep_id = pick_member(conn, keep, community)
        other_ids = [member_id(conn, cid, o) for o in others]
        try:
            moved = merge_members(conn, keep_id, other_ids)
        except MemberError as exc:
            raise fail(str(exc)) from None
        doc = member_overview(conn, keep_id)
    console.print(f"moved {moved} identit{'y' if moved == 1 else 'ies'} onto member {keep_id}")
    _show(doc)


@app.command("split")
def split(ctx: typer.Context, identity: Annotated[int, typer.Argument(help="Identity id to give a member of its own (see `members show`).")]) -> None:
    """Undo a merge for one identity."""
    with state(ctx).engine().begin() as conn:
        try:
            new_member = split_identity(conn, identity)
        except MemberError as exc:
            raise fail(str(exc)) from None
        doc = member_overview(conn, new_member)
    _show(doc)


@app.command("tag")
def tag(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(metavar="MEMBER", help=MEMBER_HELP)],
    tags: Annotated[list[str], typer.Argument(help="Tags to add, e.g. 地区:上海 职业:设计师.")],
    remove: Annotated[Optional[bool], typer.Option("--remove", help="Remove the tags instead.")] = False,
    community: Community = None,
) -> None:
    """Add (or remove) tags on a member."""
    with state(ctx).engine().begin() as conn:
        _, mid = pick_member(conn, member, community)
        try:
            for t in tags:
                (remove_tag if remove else add_tag)(conn, mid, t)
        except MemberError as exc:
            raise fail(str(exc)) from None
        _show(member_overview(conn, mid))
