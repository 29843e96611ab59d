"""Mall items, redemption (兑换), write-off (核销) and refunds, each in the caller's ONE transaction.

Overselling is prevented by the order of work, not by luck: the first statement of a redemption is
a conditional ``UPDATE ... SET stock = stock - 1 WHERE stock > 0``. On PostgreSQL it row-locks the
item, and a concurrent redemption waits, re-reads the row and finds no stock; on SQLite it takes the
database's write lock, and the other writer waits (busy timeout) and then sees the new stock. Points
are spent after the stock is held; if the member is short, the whole transaction rolls back.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, case, func, select

from shequn.store.directory import now_ms
from shequn.store.tables import mall_items, mall_redemptions, members

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: codes are read aloud and typed from phones
CODE_LENGTH = 12  # 31**12 ≈ 2**59: unguessable for anyone without the code


class MallError(ValueError):
    """A mall request that cannot be honoured; the message says why."""


class SoldOut(MallError):
    pass


class NotEnoughPoints(MallError):
    pass


@dataclass(frozen=True, slots=True)
class Redemption:
    code: str
    sku: str
    title: str
    price: int
    member_id: int
    stock_left: int
    balance: int


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize_code(text: str) -> str:
    """What a member reads out or pastes (full-width, lower case, spaces, zero-width) -> the stored code."""
    raw = "".join(ch for ch in unicodedata.normalize("NFKC", text).upper() if ch.isascii() and ch.isalnum())
    if len(raw) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        raise MallError(f"{text!r} is not a redemption code (12 letters and digits, like ABCD-EFGH-JKMN)")
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def check_sku(sku: str) -> str:
    sku = sku.strip()
    if not sku or len(sku) > 200:
        raise MallError("an item name must be 1 to 200 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in sku):
        raise MallError(f"item name {sku!r} contains control or invisible characters")
    return sku


def clean_text(text: str, limit: int, what: str) -> str:
    """Free text an operator typed (titles, reasons, staff names): NUL removed (PostgreSQL cannot store
    it), length checked here with a clear message instead of a database error."""
    text = text.replace("\x00", "").strip()
    if len(text) > limit:
        raise MallError(f"the {what} is {len(text)} characters long; at most {limit}")
    return text


def add_item(conn: Connection, community_id: int, sku: str, *, price: int, stock: int, title: str | None = None) -> dict:
    sku = check_sku(sku)
    if price < 0 or stock < 0:
        raise MallError("price and stock cannot be negative")
    title = clean_text(title, 500, "title") if title else None
    if conn.execute(select(mall_items.c.id).where(mall_items.c.community_id == community_id, mall_items.c.sku == sku)).first():
        raise MallError(f"item {sku!r} already exists; change it with: shequn mall stock {sku} --add N / --set N / --price P")
    conn.execute(mall_items.insert().values(community_id=community_id, sku=sku, title=title or sku, price=price, stock=stock, created_ms=now_ms()))
    return item(conn, community_id, sku)


def item(conn: Connection, community_id: int, sku: str) -> dict:
    row = conn.execute(select(mall_items).where(mall_items.c.community_id == community_id, mall_items.c.sku == sku)).mappings().first()
    if row is None:
        raise MallError(f"no item {sku!r} in the mall (shequn mall list shows the items)")
    return dict(row)


def change_stock(conn: Connection, community_id: int, sku: str, *, add: int | None = None, set_to: int | None = None, price: int | None = None) -> dict:
    """Restock (relative, safe beside concurrent redemptions) or set the stock; change the price."""
    it = item(conn, community_id, sku)
    values: dict = {}
    if add is not None and set_to is not None:
        raise MallError("give --add or --set, not both")
    if add is not None:
        if it["stock"] + add < 0:
            raise MallError(f"{sku!r} has {it['stock']} in stock; cannot remove {-add}")
        values["stock"] = mall_items.c.stock + add
    if set_to is not None:
        if set_to < 0:
            raise MallError("stock cannot be negative")
        values["stock"] = set_to
    if price is not None:
        if price < 0:
            raise MallError("price cannot be negative")
        values["price"] = price
    if values:
        conn.execute(mall_items.update().where(mall_items.c.id == it["id"]).values(**values))
    return item(conn, community_id, sku)


def list_items(conn: Connection, community_id: int) -> list[dict]:
    counts = (
        select(
            mall_redemptions.c.item_id,
            func.sum(case((mall_redemptions.c.status != "refunded", 1), else_=0)).label("redeemed"),
            func.sum(case((mall_redemptions.c.status == "written_off", 1), else_=0)).label("written_off"),
            func.sum(case((mall_redemptions.c.status == "refunded", 1), else_=0)).label("refunded"),
        )
        .group_by(mall_redemptions.c.item_id)
        .subquery()
    )
    rows = conn.execute(
        select(mall_items, counts.c.redeemed, counts.c.written_off, counts.c.refunded)
        .outerjoin(counts, counts.c.item_id == mall_items.c.id)
        .where(mall_items.c.community_id == community_id)
        .order_by(mall_items.c.sku)
    ).mappings()
    return [
        {"sku": r["sku"], "title": r["title"], "price": r["price"], "stock": r["stock"],
         "redeemed": int(r["redeemed"] or 0), "written_off": int(r["written_off"] or 0), "refunded": int(r["refunded"] or 0)}
        for r in rows
    ]


def redeem(conn: Connection, community_id: int, member_id: int, sku: str, *, ledger, at_ms: int | None = None) -> Redemption:
    """Spend the item's price and take one from stock, in the caller's transaction; a redemption code
    comes back. Raises SoldOut / NotEnoughPoints (the caller's rollback restores everything)."""
    at_ms = now_ms() if at_ms is None else at_ms
    if conn.execute(select(members.c.community_id).where(members.c.id == member_id)).scalar() != community_id:
        raise MallError(f"no member {member_id} in this community")
    taken = conn.execute(
        mall_items.update()
        .where(mall_items.c.community_id == community_id, mall_items.c.sku == sku, mall_items.c.stock > 0)
        .values(stock=mall_items.c.stock - 1)
        .returning(mall_items.c.id, mall_items.c.price, mall_items.c.title, mall_items.c.stock)
    ).first()
    if taken is None:
        item(conn, community_id, sku)  # raises "no item" if that is the reason
        raise SoldOut(f"{sku!r} is sold out; no points were spent")
    code = new_code()
    ok = ledger.spend(
        member_id=member_id, amount=taken.price, rule="mall.redeem", key=f"mall:{code}", at_ms=at_ms,
        reason=f"兑换 redeemed {taken.title!r} for {taken.price} points (code {code})", counter="mall",
    )
    if not ok:
        raise NotEnoughPoints(f"member {member_id} has {ledger.balance(member_id)} points; {sku!r} costs {taken.price}")
    conn.execute(mall_redemptions.insert().values(
        community_id=community_id, item_id=taken.id, member_id=member_id, code=code, price=taken.price,
        status="issued", created_ms=at_ms,
    ))
    return Redemption(code, sku, taken.title, taken.price, member_id, taken.stock, ledger.balance(member_id))


def _explain(conn: Connection, community_id: int, code: str) -> MallError:
    row = conn.execute(select(mall_redemptions).where(mall_redemptions.c.code == code, mall_redemptions.c.community_id == community_id)).mappings().first()
    if row is None:
        return MallError(f"no redemption with code {code}")
    if row["status"] == "written_off":
        return MallError(f"code {code} was already written off at {_iso(row['written_off_ms'])}" + (f" by {row['written_off_by']}" if row["written_off_by"] else ""))
    if row["status"] == "refunded":
        return MallError(f"code {code} was refunded at {_iso(row['refunded_ms'])} ({row['refund_reason']}); it is void")
    return MallError(f"code {code} is {row['status']}")


def write_off(conn: Connection, community_id: int, code: str, *, by: str | None = None, at_ms: int | None = None) -> dict:
    """核销: mark the code as used, exactly once (a conditional UPDATE, so two tills cannot both accept it)."""
    code = normalize_code(code)
    by = clean_text(by, 200, "--by name") if by else None
    at_ms = now_ms() if at_ms is None else at_ms
    done = conn.execute(
        mall_redemptions.update()
        .where(mall_redemptions.c.code == code, mall_redemptions.c.community_id == community_id, mall_redemptions.c.status == "issued")
        .values(status="written_off", written_off_ms=at_ms, written_off_by=by)
    ).rowcount
    if done != 1:
        raise _explain(conn, community_id, code)
    return redemption(conn, community_id, code)


def refund(conn: Connection, community_id: int, code: str, *, reason: str, ledger, at_ms: int | None = None) -> dict:
    """Void an unused code: the points come back as a reversing ledger entry, the item back to stock."""
    code = normalize_code(code)
    reason = clean_text(reason, 2000, "reason")
    if not reason:
        raise MallError("a refund needs a reason (--reason)")
    at_ms = now_ms() if at_ms is None else at_ms
    done = conn.execute(
        mall_redemptions.update()
        .where(mall_redemptions.c.code == code, mall_redemptions.c.community_id == community_id, mall_redemptions.c.status == "issued")
        .values(status="refunded", refunded_ms=at_ms, refund_reason=reason)
    ).rowcount
    if done != 1:
        raise _explain(conn, community_id, code)
    row = redemption(conn, community_id, code)
    conn.execute(mall_items.update().where(mall_items.c.id == row["item_id"]).values(stock=mall_items.c.stock + 1))
    ledger.post(
        member_id=row["member_id"], amount=row["price"], rule="mall.refund", key=f"mall-refund:{code}", at_ms=at_ms,
        reason=f"退款 refund of {row['title']!r} (code {code}): {reason}", counter="mall",
    )
    return redemption(conn, community_id, code)


def redemption(conn: Connection, community_id: int, code: str) -> dict:
    row = conn.execute(
        select(mall_redemptions, mall_items.c.sku, mall_items.c.title)
        .join(mall_items, mall_items.c.id == mall_redemptions.c.item_id)
        .where(mall_redemptions.c.code == code, mall_redemptions.c.community_id == community_id)
    ).mappings().first()
    if row is None:
        raise MallError(f"no redemption with code {code}")
    return dict(row)


def redemptions(conn: Connection, community_id: int, member_id: int | None = None, limit: int = 100) -> list[dict]:
    q = (
        select(mall_redemptions, mall_items.c.sku, mall_items.c.title)
        .join(mall_items, mall_items.c.id == mall_redemptions.c.item_id)
        .where(mall_redemptions.c.community_id == community_id)
        .order_by(mall_redemptions.c.id.desc())
        .limit(limit)
    )
    if member_id is not None:
        q = q.where(mall_redemptions.c.member_id == member_id)
    return [dict(r) for r in conn.execute(q).mappings()]
