"""``shequn members``: look people up, merge identities of one person, split them back out, tag."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from shequn.cli.context import console, fail, print_json, state
from shequn.cli.members_list import list_members
from shequn.cli.points_cmd import show_member_points
from shequn.cli.who import community_of
from shequn.mall.who import safe_text
from shequn.points.leaderboard import points_overview
from shequn.store.directory import ensure_community
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


@app.command("show")
def show(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(help="Member id, or an account / display name to search for.")],
    community: Annotated[str, typer.Option("--community", "-c")] = "default",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a member: identities, roles, tags and what they did."""
    with state(ctx).engine().connect() as conn:
        # the resolution every command uses (store.members.resolve_member), except that a name several
        # members share shows all of them: this is where an operator goes to find the right id
        by_id = community_of(conn, who)
        docs = [member_overview(conn, int(who))] if by_id is not None else find_members(conn, ensure_community(conn, community), who.strip())
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
    keep: Annotated[int, typer.Argument(help="Member id to keep.")],
    others: Annotated[list[int], typer.Argument(help="Member ids whose identities move onto KEEP.")],
) -> None:
    """Merge members: one person with several accounts. History is not rewritten; identities move."""
    with state(ctx).engine().begin() as conn:
        try:
            moved = merge_members(conn, keep, others)
        except MemberError as exc:
            raise fail(str(exc)) from None
        doc = member_overview(conn, keep)
    console.print(f"moved {moved} identit{'y' if moved == 1 else 'ies'} onto member {keep}")
    _show(doc)


@app.command("split")
def split(ctx: typer.Context, identity: Annotated[int, typer.Argument(help="Identity id to give a member of its own.")]) -> None:
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
    member: Annotated[int, typer.Argument(help="Member id.")],
    tags: Annotated[list[str], typer.Argument(help="Tags to add, e.g. 地区:上海 职业:设计师.")],
    remove: Annotated[Optional[bool], typer.Option("--remove", help="Remove the tags instead.")] = False,
) -> None:
    """Add (or remove) tags on a member."""
    with state(ctx).engine().begin() as conn:
        try:
            for t in tags:
                (remove_tag if remove else add_tag)(conn, member, t)
        except MemberError as exc:
            raise fail(str(exc)) from None
        _show(member_overview(conn, member))
