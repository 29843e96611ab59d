"""``shequn mall``: the points mall (积分商城) — items, redemption (兑换), write-off (核销), refunds."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table
from sqlalchemy import Connection, select

from shequn.cli.context import console, fail, print_json, state
from shequn.mall import shop
from shequn.mall.ledger import LedgerUnavailable, ledger_for
from shequn.mall.who import MemberNotFound, find_member, member_names, safe_text
from shequn.store.directory import ensure_community
from shequn.store.tables import communities

app = typer.Typer(help="积分商城 points mall: items with stock and a price, redemption codes, write-off, refunds.", no_args_is_help=True)

Community = Annotated[str, typer.Option("--community", "-c", help="Community the mall belongs to.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


def community_id(conn: Connection, name: str, *, create: bool = False) -> int:
    """The community's id; only commands that set something up create a missing community."""
    if create:
        return ensure_community(conn, name)
    cid = conn.execute(select(communities.c.id).where(communities.c.name == name)).scalar()
    if cid is None:
        raise fail(f"no community {safe_text(name)!s}; import history or pass --community")
    return cid


def _item_doc(it: dict) -> dict:
    return {k: it[k] for k in ("sku", "title", "price", "stock")}


def _code_doc(r: dict, names: dict[int, str]) -> dict:
    return {
        "code": r["code"], "item": r["sku"], "title": r["title"], "price": r["price"], "member_id": r["member_id"],
        "member": names.get(r["member_id"]), "status": r["status"], "created": shop._iso(r["created_ms"]),
        "written_off": shop._iso(r["written_off_ms"]), "written_off_by": r["written_off_by"],
        "refunded": shop._iso(r["refunded_ms"]), "refund_reason": r["refund_reason"],
    }


@app.command("add")
def add(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="Item name operators and members type, e.g. mug or 定制T恤.")],
    price: Annotated[int, typer.Option("--price", "-p", min=0, help="Price in points.")],
    stock: Annotated[int, typer.Option("--stock", "-s", min=0, help="How many there are.")],
    title: Annotated[Optional[str], typer.Option("--title", help="Longer display title (default: the item name).")] = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Put an item in the mall."""
    with state(ctx).engine().begin() as conn:
        try:
            it = shop.add_item(conn, community_id(conn, community, create=True), item, price=price, stock=stock, title=title)
        except shop.MallError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(_item_doc(it))
        return
    console.print(f"added {safe_text(it['sku'])}: {it['price']:,} points, {it['stock']:,} in stock", highlight=False)


@app.command("list")
def list_(ctx: typer.Context, community: Community = "default", as_json: AsJson = False) -> None:
    """Items with price, stock, and how many were redeemed, written off and refunded."""
    with state(ctx).engine().connect() as conn:
        items = shop.list_items(conn, community_id(conn, community))
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("the mall is empty; add an item with: shequn mall add ITEM --price P --stock N")
        return
    table = Table("item", "title", "price", "stock", "redeemed", "written off", "refunded")
    for it in items:
        table.add_row(safe_text(it["sku"]), safe_text(it["title"]), f"{it['price']:,}", f"{it['stock']:,}",
                      f"{it['redeemed']:,}", f"{it['written_off']:,}", f"{it['refunded']:,}")
    console.print(table)


@app.command("stock")
def stock(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="Item name.")],
    add: Annotated[Optional[int], typer.Option("--add", help="Add (or with a minus sign remove) this many.")] = None,
    set_to: Annotated[Optional[int], typer.Option("--set", help="Set the stock to exactly this.")] = None,
    price: Annotated[Optional[int], typer.Option("--price", help="New price in points (earlier codes keep what was paid).")] = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Show an item's stock, restock it, or change its price."""
    with state(ctx).engine().begin() as conn:
        try:
            it = shop.change_stock(conn, community_id(conn, community), item, add=add, set_to=set_to, price=price)
        except shop.MallError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(_item_doc(it))
        return
    console.print(f"{safe_text(it['sku'])}: {it['stock']:,} in stock at {it['price']:,} points", highlight=False)


@app.command("redeem")
def redeem(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id, account or display name.")],
    item: Annotated[str, typer.Argument(help="Item name.")],
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Redeem an item for a member: points are spent and stock taken in one transaction; prints the 兑换码."""
    engine = state(ctx).engine()
    with engine.connect() as conn:
        cid = community_id(conn, community)
        try:
            mid = find_member(conn, cid, member)
        except MemberNotFound as exc:
            raise fail(str(exc)) from None
    try:
        with engine.begin() as conn:
            r = shop.redeem(conn, cid, mid, item, ledger=ledger_for(conn, cid))
    except (shop.MallError, LedgerUnavailable) as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json({"code": r.code, "item": r.sku, "title": r.title, "price": r.price, "member_id": r.member_id,
                    "stock_left": r.stock_left, "balance": r.balance})
        return
    console.print(f"redeemed {safe_text(r.title)} for member {r.member_id} ({r.price:,} points, {r.balance:,} left); "
                  f"{r.stock_left:,} left in stock", highlight=False)
    console.print(f"兑换码 redemption code: [bold]{r.code}[/]")


@app.command("write-off")
def write_off(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The redemption code the member shows.")],
    by: Annotated[Optional[str], typer.Option("--by", help="Who accepted it (staff name, till).")] = None,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """核销: accept a redemption code; a code can be written off once only."""
    with state(ctx).engine().begin() as conn:
        cid = community_id(conn, community)
        try:
            r = shop.write_off(conn, cid, code, by=by)
        except shop.MallError as exc:
            raise fail(str(exc)) from None
        names = member_names(conn, [r["member_id"]])
    if as_json:
        print_json(_code_doc(r, names))
        return
    console.print(f"written off {r['code']}: {safe_text(r['title'])} for {safe_text(names.get(r['member_id']))} (member {r['member_id']})", highlight=False)


@app.command("refund")
def refund(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The redemption code to void.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept with the ledger entry).")],
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Refund an unused code: points back (a reversing ledger entry), item back in stock, code void."""
    try:
        with state(ctx).engine().begin() as conn:
            cid = community_id(conn, community)
            r = shop.refund(conn, cid, code, reason=reason, ledger=ledger_for(conn, cid))
            balance = ledger_for(conn, cid).balance(r["member_id"])
            names = member_names(conn, [r["member_id"]])
    except (shop.MallError, LedgerUnavailable) as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json({**_code_doc(r, names), "balance": balance})
        return
    console.print(f"refunded {r['code']}: {r['price']:,} points back to {safe_text(names.get(r['member_id']))} "
                  f"(member {r['member_id']}, balance {balance:,}); {safe_text(r['sku'])} back in stock", highlight=False)


@app.command("codes")
def codes(
    ctx: typer.Context,
    member: Annotated[Optional[str], typer.Option("--member", "-m", help="Only this member's codes.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    community: Community = "default",
    as_json: AsJson = False,
) -> None:
    """Redemption codes, newest first, with their status (issued, written_off, refunded)."""
    with state(ctx).engine().connect() as conn:
        cid = community_id(conn, community)
        try:
            mid = find_member(conn, cid, member) if member else None
        except MemberNotFound as exc:
            raise fail(str(exc)) from None
        rows = shop.redemptions(conn, cid, mid, limit)
        names = member_names(conn, [r["member_id"] for r in rows])
    docs = [_code_doc(r, names) for r in rows]
    if as_json:
        print_json(docs)
        return
    table = Table("code", "item", "member", "price", "status", "when")
    for d in docs:
        table.add_row(d["code"], safe_text(d["item"]), f"{safe_text(d['member'])} ({d['member_id']})", f"{d['price']:,}", d["status"],
                      d["written_off"] or d["refunded"] or d["created"])
    console.print(table)
