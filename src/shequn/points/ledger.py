"""The points ledger (积分账本): append-only, double-entry, idempotent.

Every change of a member's points is one *transaction* with two *entries* that sum to zero: the
member's account (``points``) and a counter account that says where the points came from or went
(``issuance`` for earning, ``mall`` for spending, ``adjustment`` for operators, ``expiry`` ...). So
the books always balance and "where did these 40 points come from?" has an answer: every
transaction names the rule, the reason and the event that caused it.

``key`` makes posting idempotent: replaying the same events, or a redelivered webhook, posts nothing
twice. Balances are derived; the database keeps them materialised (one row per member and account)
so that ``spend`` can check-and-debit atomically with one conditional UPDATE, and
``rebuild_balances`` recomputes them from the entries at any time.

``DbLedger`` writes in the caller's transaction (live: with the event and its actions);
``MemoryLedger`` has the same semantics and keeps nothing outside the process (backtest).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, and_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from shequn.store.directory import now_ms
from shequn.store.tables import points_balances, points_entries, points_transactions

POINTS = "points"
#: Counters whose postings count as *earned* (levels and leaderboards use earned points, so buying a
#: mug in the mall or an expiry never demotes anyone).
EARNING_COUNTERS = frozenset({"issuance", "adjustment", "referral"})
MAX_KEY = 300


class LedgerError(ValueError):
    """A posting that cannot be booked (bad amount, key too long ...): nothing was written."""


@dataclass(slots=True, frozen=True)
class Entry:
    """One line of a member's points history."""

    key: str
    at_ms: int
    amount: int
    account: str
    counter: str
    rule: str
    reason: str
    event_id: int | None


class Ledger(Protocol):
    """One per community."""

    def post(self, *, member_id: int, amount: int, rule: str, reason: str, key: str, at_ms: int,
             event_id: int | None = None, account: str = POINTS, counter: str = "issuance") -> bool:
        """Double-entry: +amount to the member's account, -amount to the counter account. Posting the same
        key twice is a no-op returning False. Negative amounts reverse (revocation, refund)."""
        ...

    def spend(self, *, member_id: int, amount: int, rule: str, reason: str, key: str, at_ms: int,
              counter: str = "mall") -> bool:
        """Atomically check balance >= amount and debit; False (nothing written) if short or the key was used."""
        ...

    def balance(self, member_id: int, account: str = POINTS) -> int: ...

    def earned(self, member_id: int, account: str = POINTS) -> int:
        """Lifetime points from earning counters (issuance, adjustment, referral): what levels are made of."""
        ...

    def history(self, member_id: int, limit: int = 50) -> list[Entry]: ...


def _check(member_id: int, amount: int, rule: str, key: str) -> None:
    if type(amount) is int and key and len(key) <= MAX_KEY and rule and member_id is not None:
        return  # the common case, decided in one line: this runs for every award of a backtest
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise LedgerError(f"points amount must be an integer, got {amount!r}")
    if not key or len(key) > MAX_KEY:
        raise LedgerError(f"idempotency key must be 1..{MAX_KEY} characters, got {len(key or '')}")
    if not rule:
        raise LedgerError("every posting names the rule that caused it")
    if member_id is None:
        raise LedgerError("points belong to a member; member_id is missing")


class _Statements:
    """The ledger's statements, built once per dialect: live ingestion posts for every awarded message,
    and building SQLAlchemy constructs per call costs more than executing them."""

    def __init__(self, dialect: str):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        t, b = points_transactions, points_balances
        self.txn = insert(t).on_conflict_do_nothing(index_elements=["community_id", "key"]).returning(t.c.id)
        self.entries = points_entries.insert()
        up = insert(b)
        self.credit = up.on_conflict_do_update(
            index_elements=["community_id", "member_id", "account"],
            set_={"balance": b.c.balance + up.excluded.balance, "earned": b.c.earned + up.excluded.earned},
        )
        mine = (b.c.community_id == bindparam("cid")) & (b.c.member_id == bindparam("mid")) & (b.c.account == bindparam("acc"))
        self.debit = b.update().where(mine & (b.c.balance >= bindparam("amt"))).values(balance=b.c.balance - bindparam("amt"))
        self.undo = b.update().where(mine).values(balance=b.c.balance + bindparam("amt"))
        self.row = select(b.c.balance, b.c.earned).where(mine)


_STATEMENTS: dict[str, _Statements] = {}


def _statements(conn: Connection) -> _Statements:
    dialect = conn.dialect.name
    return _STATEMENTS.get(dialect) or _STATEMENTS.setdefault(dialect, _Statements(dialect))


def add_to_balance(conn: Connection, community_id: int, member_id: int, account: str, balance: int, earned: int) -> None:
    """Add to a member's materialised balance row (created if missing). Only for moving already-booked
    entries between members (a merge): the entries are the truth, this keeps their sum in step."""
    conn.execute(_statements(conn).credit, dict(community_id=community_id, member_id=member_id, account=account, balance=balance, earned=earned))


class DbLedger:
    """Live ledger: writes in the caller's transaction (the event, its points and its actions commit together)."""

    def __init__(self, conn: Connection, community_id: int):
        self.conn = conn
        self.community_id = community_id
        self._sql = _statements(conn)

    def _book(self, *, member_id, amount, rule, reason, key, at_ms, event_id, account, counter) -> bool:
        txn_id = self.conn.execute(
            self._sql.txn,
            dict(
                community_id=self.community_id, key=key, member_id=member_id, account=account, counter=counter,
                amount=amount, rule=rule[:200], reason=reason.replace("\x00", ""), event_id=event_id, at_ms=at_ms,
                created_ms=now_ms(),
            ),
        ).scalar()
        if txn_id is None:
            return False
        self.conn.execute(
            self._sql.entries,
            [
                dict(transaction_id=txn_id, community_id=self.community_id, member_id=member_id, account=account, amount=amount),
                dict(transaction_id=txn_id, community_id=self.community_id, member_id=None, account=counter, amount=-amount),
            ],
        )
        return True

    def post(self, *, member_id: int, amount: int, rule: str, reason: str, key: str, at_ms: int,
             event_id: int | None = None, account: str = POINTS, counter: str = "issuance") -> bool:
        _check(member_id, amount, rule, key)
        if not self._book(member_id=member_id, amount=amount, rule=rule, reason=reason, key=key, at_ms=at_ms,
                          event_id=event_id, account=account, counter=counter):
            return False
        earned = amount if counter in EARNING_COUNTERS else 0
        self.conn.execute(
            self._sql.credit,
            dict(community_id=self.community_id, member_id=member_id, account=account, balance=amount, earned=earned),
        )
        return True

    def spend(self, *, member_id: int, amount: int, rule: str, reason: str, key: str, at_ms: int,
              counter: str = "mall") -> bool:
        _check(member_id, amount, rule, key)
        if amount <= 0:
            raise LedgerError(f"spend amount must be positive, got {amount}")
        # The conditional UPDATE is the check and the debit at once: it locks the balance row, so two
        # concurrent spends of the last points cannot both succeed (PostgreSQL re-checks the WHERE after the
        # lock; SQLite serialises writers).
        who = dict(cid=self.community_id, mid=member_id, acc=POINTS, amt=amount)
        if self.conn.execute(self._sql.debit, who).rowcount != 1:
            return False
        if not self._book(member_id=member_id, amount=-amount, rule=rule, reason=reason, key=key, at_ms=at_ms,
                          event_id=None, account=POINTS, counter=counter):
            self.conn.execute(self._sql.undo, who)  # the key was spent before: give the debit back, same transaction
            return False
        return True

    def _row(self, member_id: int, account: str):
        return self.conn.execute(self._sql.row, dict(cid=self.community_id, mid=member_id, acc=account)).first()

    def balance(self, member_id: int, account: str = POINTS) -> int:
        row = self._row(member_id, account)
        return 0 if row is None else int(row.balance)

    def earned(self, member_id: int, account: str = POINTS) -> int:
        row = self._row(member_id, account)
        return 0 if row is None else int(row.earned)

    def history(self, member_id: int, limit: int = 50) -> list[Entry]:
        t = points_transactions
        rows = self.conn.execute(
            select(t.c.key, t.c.at_ms, t.c.amount, t.c.account, t.c.counter, t.c.rule, t.c.reason, t.c.event_id)
            .where(t.c.community_id == self.community_id, t.c.member_id == member_id)
            .order_by(t.c.at_ms.desc(), t.c.id.desc())
            .limit(limit)
        )
        return [Entry(r.key, r.at_ms, r.amount, r.account, r.counter, r.rule, r.reason, r.event_id) for r in rows]


class _KeySet:
    """The keys a MemoryLedger has seen, exactly, in bounded memory for the common case.

    A backtest over ten million messages posts keys like ``msg:<event id>``; a set of those strings
    would take about a gigabyte. Keys of the form ``<prefix>:<small integer>`` go into one bitmap per
    prefix (an event id costs one bit); anything else goes into a plain set.
    """

    BITMAP_LIMIT = 1 << 31  # ids above this (2^31 bits = 256 MiB) fall back to the set

    def __init__(self) -> None:
        self._bits: dict[str, bytearray] = {}
        self._other: set[str] = set()

    def add(self, key: str) -> bool:
        """Add the key; False if it was there already."""
        prefix, sep, tail = key.rpartition(":")
        if sep and tail.isascii() and tail.isdigit() and (tail[0] != "0" or tail == "0"):
            n = int(tail)
            if n < self.BITMAP_LIMIT:
                bits = self._bits.get(prefix)
                if bits is None:
                    bits = self._bits[prefix] = bytearray()
                byte, mask = n >> 3, 1 << (n & 7)
                if byte >= len(bits):
                    bits.extend(bytes(max(byte + 1 - len(bits), len(bits) // 2)))
                if bits[byte] & mask:
                    return False
                bits[byte] |= mask
                return True
        if key in self._other:
            return False
        self._other.add(key)
        return True

    def discard(self, key: str) -> None:
        prefix, sep, tail = key.rpartition(":")
        if sep and tail.isdigit() and tail.isascii() and (tail == "0" or tail[0] != "0") and int(tail) < self.BITMAP_LIMIT:
            bits = self._bits.get(prefix)
            n = int(tail)
            if bits is not None and (n >> 3) < len(bits):
                bits[n >> 3] &= ~(1 << (n & 7)) & 0xFF
            return
        self._other.discard(key)


class MemoryLedger:
    """Backtest ledger: the same semantics as DbLedger, nothing leaves the process.

    Balances are exact; ``history`` keeps the last ``keep_history`` entries per member (bounded memory
    over long histories). ``keep_history=None`` keeps everything (tests).
    """

    def __init__(self, keep_history: int | None = 50):
        # (member, account) -> amount; the member's "points" account is by far the busiest, so it has its own dicts
        self._points: dict[int, int] = {}
        self._points_earned: dict[int, int] = {}
        self._balance: dict[tuple[int, str], int] = {}
        self._earned: dict[tuple[int, str], int] = {}
        self._counters: dict[str, int] = {}
        self._keys = _KeySet()
        self._keep = keep_history
        self._history: dict[int, deque[Entry]] = {}

    def post(self, *, member_id: int, amount: int, rule: str, reason: str, key: str, at_ms: int,
             event_id: int | None = None, account: str = POINTS, counter: str = "issuance") -> bool:
        _check(member_id, amount, rule, key)
        if not self._keys.add(key):
            return False
        if account == POINTS:
            self._points[member_id] = self._points.get(member_id, 0) + amount
            if counter in EARNING_COUNTERS:
                self._points_earned[member_id] = self._points_earned.get(member_id, 0) + amount
        else:
            k = (member_id, account)
            self._balance[k] = self._balance.get(k, 0) + amount
            if counter in EARNING_COUNTERS:
                self._earned[k] = self._earned.get(k, 0) + amount
        self._counters[counter] = self._counters.get(counter, 0) - amount
        if self._keep != 0:
            self._remember(member_id, (key, at_ms, amount, account, counter, rule, reason, event_id))
        return True

    def spend(self, *, member_id: int, amount: int, rule: str, reason: str, key: str, at_ms: int,
              counter: str = "mall") -> bool:
        _check(member_id, amount, rule, key)
        if amount <= 0:
            raise LedgerError(f"spend amount must be positive, got {amount}")
        if self._points.get(member_id, 0) < amount or not self._keys.add(key):
            return False
        self._points[member_id] -= amount
        self._counters[counter] = self._counters.get(counter, 0) + amount
        if self._keep != 0:
            self._remember(member_id, (key, at_ms, -amount, POINTS, counter, rule, reason, None))
        return True

    def _remember(self, member_id: int, entry: tuple) -> None:
        """History lines are kept as tuples (cheap on the hot path) and become Entry when asked for."""
        h = self._history.get(member_id)
        if h is None:
            h = self._history[member_id] = deque(maxlen=self._keep)
        h.append(entry)

    def balance(self, member_id: int, account: str = POINTS) -> int:
        if account == POINTS:
            return self._points.get(member_id, 0)
        return self._balance.get((member_id, account), 0)

    def earned(self, member_id: int, account: str = POINTS) -> int:
        if account == POINTS:
            return self._points_earned.get(member_id, 0)
        return self._earned.get((member_id, account), 0)

    def history(self, member_id: int, limit: int = 50) -> list[Entry]:
        h = self._history.get(member_id, ())
        return [Entry(*e) for e in sorted(h, key=lambda e: e[1], reverse=True)[:limit]]

    def balances(self, account: str = POINTS) -> dict[int, int]:
        """Every member's balance (the backtest report)."""
        if account == POINTS:
            return dict(self._points)
        return {m: b for (m, a), b in self._balance.items() if a == account}

    def counter_total(self, counter: str) -> int:
        """The counter account's balance: minus everything it issued (books balance: sum of all = 0)."""
        return self._counters.get(counter, 0)


# --- audit: the books must balance -------------------------------------------------------------


def check_ledger(conn: Connection, community_id: int) -> list[str]:
    """Problems in a community's stored ledger; empty when it is consistent.

    Every transaction has exactly two entries that sum to zero and match it; every materialised balance
    equals the sum of its entries. A process killed mid-batch must leave this empty.
    """
    t, e, b = points_transactions, points_entries, points_balances
    problems: list[str] = []
    legs = (
        select(e.c.transaction_id, func.count().label("n"), func.sum(e.c.amount).label("total"))
        .where(e.c.community_id == community_id)
        .group_by(e.c.transaction_id)
        .subquery()
    )
    bad = conn.execute(
        select(t.c.id, t.c.key, legs.c.n, legs.c.total)
        .select_from(t.outerjoin(legs, legs.c.transaction_id == t.c.id))
        .where(t.c.community_id == community_id, (legs.c.n.is_(None)) | (legs.c.n != 2) | (legs.c.total != 0))
        .limit(20)
    ).all()
    problems += [f"transaction {r.id} ({r.key}): {r.n or 0} entries summing to {r.total or 0}" for r in bad]
    mine = conn.execute(
        select(t.c.id, t.c.key)
        .select_from(t.join(e, and_(e.c.transaction_id == t.c.id, e.c.member_id.is_not(None))))
        .where(t.c.community_id == community_id, (e.c.member_id != t.c.member_id) | (e.c.amount != t.c.amount) | (e.c.account != t.c.account))
        .limit(20)
    ).all()
    problems += [f"transaction {r.id} ({r.key}): member entry does not match the transaction" for r in mine]
    sums = {
        (r.member_id, r.account): (int(r.balance), int(r.earned))
        for r in conn.execute(_entry_sums(community_id))
    }
    stored = {
        (r.member_id, r.account): (int(r.balance), int(r.earned))
        for r in conn.execute(select(b.c.member_id, b.c.account, b.c.balance, b.c.earned).where(b.c.community_id == community_id))
    }
    for k in sorted(set(sums) | set(stored)):
        if sums.get(k, (0, 0)) != stored.get(k, (0, 0)):
            problems.append(f"member {k[0]} {k[1]}: stored balance/earned {stored.get(k)} but entries sum to {sums.get(k)}")
            if len(problems) > 50:
                break
    return problems


def _entry_sums(community_id: int):
    t = points_transactions
    earned = func.sum(func.coalesce(t.c.amount, 0)).filter(t.c.counter.in_(sorted(EARNING_COUNTERS)))
    return (
        select(t.c.member_id, t.c.account, func.sum(t.c.amount).label("balance"), func.coalesce(earned, 0).label("earned"))
        .where(t.c.community_id == community_id)
        .group_by(t.c.member_id, t.c.account)
    )


def rebuild_balances(conn: Connection, community_id: int) -> int:
    """Recompute the materialised balances from the entries (they are derived data). Returns rows written."""
    conn.execute(points_balances.delete().where(points_balances.c.community_id == community_id))
    rows = [
        dict(community_id=community_id, member_id=r.member_id, account=r.account, balance=int(r.balance), earned=int(r.earned))
        for r in conn.execute(_entry_sums(community_id))
    ]
    if rows:
        conn.execute(points_balances.insert(), rows)
    return len(rows)
