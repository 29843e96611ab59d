"""The verifiable draw: commit-reveal seed, a deterministic HMAC-SHA256 counter stream, and the two
functions everything else is checked against (``draw_winners`` and ``split_red_packet``).

Why this shape: the operator publishes ``sha256(seed)`` before entries close, so the seed cannot be
chosen after seeing who entered; once the seed is revealed, anyone with the published record can
re-run these pure functions (no database, no clock) and must get the same winners and shares.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

RECORD_FORMAT = "shequn-lottery/1"


class LotteryError(ValueError):
    """A lottery request that cannot be honoured; the message says why."""


def new_seed() -> str:
    return secrets.token_hex(32)


def seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def entries_hash(entries: list[list[int]]) -> str:
    """A short fingerprint of the (sorted) entrant list, so two people can compare lists quickly."""
    return hashlib.sha256(json.dumps(entries, separators=(",", ":")).encode()).hexdigest()


class Stream:
    """Uniform random numbers from HMAC-SHA256(key = seed [+ beacon], message = label:counter).

    Anyone can reimplement it from this description: block i is HMAC-SHA256(key, f"{label}:{i}");
    each block yields four big-endian unsigned 64-bit integers, used in order.
    """

    def __init__(self, seed: str, label: str, beacon: str | None = None):
        self._key = (seed if not beacon else f"{seed}:{beacon}").encode("utf-8")
        self._label = label
        self._counter = 0
        self._pool: list[int] = []

    def u64(self) -> int:
        if not self._pool:
            block = hmac.new(self._key, f"{self._label}:{self._counter}".encode(), hashlib.sha256).digest()
            self._counter += 1
            self._pool = [int.from_bytes(block[i : i + 8], "big") for i in (24, 16, 8, 0)]  # popped from the end: 0, 8, 16, 24
        return self._pool.pop()

    def below(self, n: int) -> int:
        """Uniform integer in [0, n) by rejection sampling (no modulo bias)."""
        if n <= 0:
            raise ValueError("below() needs n > 0")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            x = self.u64()
            if x < limit:
                return x % n

    def unit(self) -> float:
        """Uniform float in [0, 1) with 53 random bits."""
        return (self.u64() >> 11) / float(1 << 53)


@dataclass(frozen=True, slots=True)
class Prize:
    name: str
    count: int | None  # how many of this prize; None = unlimited (odds mode only)
    odds: float | None = None  # chance per entry (odds mode); None = fixed-count mode

    def as_dict(self) -> dict:
        return {"name": self.name, "count": self.count, "odds": self.odds}

    @classmethod
    def from_dict(cls, d: dict) -> Prize:
        return cls(name=str(d["name"]), count=None if d.get("count") is None else int(d["count"]), odds=None if d.get("odds") is None else float(d["odds"]))


def parse_prize(spec: str) -> Prize:
    """``NAME:COUNT`` (fixed count) or ``NAME:COUNT@ODDS`` / ``NAME:*@ODDS`` (chance per entry, optional cap)."""
    name, sep, rest = spec.rpartition(":")
    if not sep or not name.strip() or len(name) > 200 or "\x00" in name:
        raise LotteryError(f"prize {spec!r}: write NAME:COUNT (e.g. 一等奖:1) or NAME:COUNT@ODDS (e.g. 红包:10@0.2)")
    count_text, _, odds_text = rest.partition("@")
    try:
        count = None if count_text.strip() == "*" else int(count_text)
        odds = float(odds_text) if odds_text else None
    except ValueError:
        raise LotteryError(f"prize {spec!r}: COUNT must be a whole number (or * with odds) and ODDS a number between 0 and 1") from None
    if count is not None and count < 1:
        raise LotteryError(f"prize {spec!r}: COUNT must be at least 1")
    if count is None and odds is None:
        raise LotteryError(f"prize {spec!r}: an unlimited prize (*) needs odds, e.g. {name}:*@0.1")
    if odds is not None and not 0 < odds <= 1:
        raise LotteryError(f"prize {spec!r}: ODDS must be above 0 and at most 1")
    return Prize(name.strip(), count, odds)


def check_prizes(prizes: list[Prize]) -> None:
    if not prizes:
        raise LotteryError("a lottery needs at least one prize (--prize NAME:COUNT)")
    with_odds = [p for p in prizes if p.odds is not None]
    if with_odds and len(with_odds) != len(prizes):
        raise LotteryError("either every prize has odds (NAME:COUNT@ODDS) or none has: a draw is by fixed counts or by chance per entry")
    if with_odds and sum(p.odds for p in prizes) > 1 + 1e-12:
        raise LotteryError(f"the odds add up to {sum(p.odds for p in prizes):g}; they must add up to at most 1")
    names = [p.name for p in prizes]
    if len(set(names)) != len(names):
        raise LotteryError("two prizes have the same name")


def draw_winners(seed: str, entries: list[list[int]], prizes: list[Prize], *, one_prize_per_member: bool = True, beacon: str | None = None) -> list[dict]:
    """The draw, as a pure function of (seed, entries, prizes, rules).

    ``entries`` are ``[member_id, entry_number]`` pairs; they are sorted first, so the order in
    which people entered (or a database returned them) cannot change the result.

    Fixed counts: prizes in the order given; each prize unit picks ``below(len(pool))`` from the
    remaining entries (swap-remove); a member who already won is passed over. Odds: every entry in
    sorted order draws ``unit()``; it wins the prize whose cumulative odds band contains it, if
    that prize has units left and the member has not won yet.
    """
    check_prizes(prizes)
    pool = sorted([int(m), int(n)] for m, n in entries)
    stream = Stream(seed, "draw", beacon)
    won: set[int] = set()
    winners: list[dict] = []
    if prizes[0].odds is None:
        for prize in prizes:
            for _ in range(prize.count or 0):
                while pool:
                    i = stream.below(len(pool))
                    member, number = pool[i]
                    pool[i] = pool[-1]
                    pool.pop()
                    if one_prize_per_member and member in won:
                        continue
                    won.add(member)
                    winners.append({"prize": prize.name, "member_id": member, "entry": number})
                    break
        return winners
    left = {p.name: p.count for p in prizes}
    for member, number in pool:
        u = stream.unit()
        edge = 0.0
        for prize in prizes:
            edge += prize.odds or 0.0
            if u < edge:
                if (left[prize.name] is None or left[prize.name] > 0) and not (one_prize_per_member and member in won):
                    if left[prize.name] is not None:
                        left[prize.name] -= 1
                    won.add(member)
                    winners.append({"prize": prize.name, "member_id": member, "entry": number})
                break
    return winners


def split_red_packet(seed: str, total: int, shares: int, minimum: int = 1) -> list[int]:
    """拼手气红包: ``shares`` amounts, each >= ``minimum``, summing exactly to ``total``.

    Every share but the last gets ``minimum`` plus ``below(2 * extra_left // shares_left + 1)`` (the
    "twice the mean" rule WeChat users know); the last gets what is left, which is never negative
    because no share takes more than twice the mean of what remains.
    """
    if shares < 1:
        raise LotteryError("a red packet needs at least 1 share")
    if minimum < 0:
        raise LotteryError("the minimum share cannot be negative")
    if total < shares * minimum:
        raise LotteryError(f"a total of {total} cannot give {shares} shares of at least {minimum} each (needs {shares * minimum})")
    stream = Stream(seed, "redpacket")
    extra = total - shares * minimum
    amounts = []
    for i in range(shares - 1):
        left = shares - i
        x = stream.below(2 * extra // left + 1)
        amounts.append(minimum + x)
        extra -= x
    amounts.append(minimum + extra)
    return amounts


def verify_record(record: dict) -> list[str]:
    """Every way the published record disagrees with itself; an empty list means it verifies."""
    problems: list[str] = []
    if record.get("format") != RECORD_FORMAT:
        problems.append(f"unknown record format {record.get('format')!r} (expected {RECORD_FORMAT!r})")
        return problems
    seed = record.get("seed")
    if not seed:
        return ["the seed has not been revealed yet: the record can be verified after the draw"]
    if seed_hash(seed) != record.get("seed_hash"):
        problems.append("sha256(seed) does not match the published seed_hash: the seed was changed after the commitment")
    try:
        if record.get("kind") == "redpacket":
            amounts = split_red_packet(seed, int(record["total"]), int(record["shares"]), int(record["minimum"]))
            if amounts != record.get("amounts"):
                problems.append("the shares are not the split this seed gives")
            for g in record.get("grabs", []):
                if not 0 <= int(g["share"]) < len(amounts) or amounts[int(g["share"])] != int(g["amount"]):
                    problems.append(f"grab by member {g.get('member_id')} claims {g.get('amount')} for share {g.get('share')}, the split gives another amount")
            shares_taken = [int(g["share"]) for g in record.get("grabs", [])]
            if len(set(shares_taken)) != len(shares_taken):
                problems.append("a share was grabbed twice")
        else:
            entries = record.get("entries", [])
            if entries_hash(sorted([int(m), int(n)] for m, n in entries)) != record.get("entries_sha256"):
                problems.append("the entry list does not match entries_sha256")
            prizes = [Prize.from_dict(p) for p in record.get("prizes", [])]
            expected = draw_winners(seed, entries, prizes, one_prize_per_member=bool(record.get("one_prize_per_member", True)), beacon=record.get("beacon"))
            published = [{"prize": w["prize"], "member_id": int(w["member_id"]), "entry": int(w["entry"])} for w in record.get("winners", [])]
            if expected != published:
                problems.append("the winners are not the ones this seed, entry list and prize list give")
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(f"the record is malformed: {exc!r}")
    return problems
