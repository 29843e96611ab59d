"""A small, hand-made community history for the report tests (counts known by hand, see ``history``).

Weeks (Asia/Shanghai): W09 = 2024-02-26..03-03, W10 = 03-04..03-10 ("last week"), W11 = 03-11..03-17
("this week" for ``--until 2024-03-18``).

- W10: 4 human messages by 张三 (3) and Alice (1); Alice's question is answered by 张三 after 10 minutes.
- W11: 5 human messages by Alice (2), EVIL (2, one in the second group) and BOB (1); a bot speaks once;
  EVIL joins, 张三 leaves; Alice's question gets no answer.
  New speakers: EVIL, BOB; lost speaker: 张三.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from shequn.domain.events import Author, Event, EventKind, GroupRef
from shequn.engine.live import LiveIngest
from shequn.playbook.loader import parse_playbook

TZ = ZoneInfo("Asia/Shanghai")
COMMUNITY = "开源学习营"
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
BOB = "Bob\u200b\u202e"  # a zero-width space and a right-to-left override hide in this name
GROUP1 = GroupRef("wechat", "g1", "学习1群")
GROUP2 = GroupRef("wechat", "g2", "<b>Evil</b> 群")

ZHANG, ALICE, BOT = Author("zhang", "张三"), Author("alice", "Alice"), Author("bot", "小助手", is_bot=True)
EVIL_A, BOB_A = Author("evil", EVIL), Author("bob", BOB)


def at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


def history() -> list[Event]:
    m, j, lv = EventKind.MESSAGE, EventKind.JOIN, EventKind.LEAVE
    return [
        # W09
        Event(GROUP1, "1", j, at("2024-02-26", "09:00"), ZHANG),
        Event(GROUP1, "2", m, at("2024-02-26", "09:01"), ZHANG, text="大家好，我是张三-上海-产品经理"),
        Event(GROUP1, "3", m, at("2024-03-01", "20:00"), ALICE, text="hello everyone"),
        # W10 (last week)
        Event(GROUP1, "10", m, at("2024-03-04", "10:00"), ZHANG, text="早上好"),
        Event(GROUP1, "11", m, at("2024-03-05", "10:00"), ZHANG, text="今天学什么"),
        Event(GROUP1, "12", m, at("2024-03-05", "11:00"), ALICE, text="how do I install it?"),
        Event(GROUP1, "13", m, at("2024-03-05", "11:10"), ZHANG, text="pip install shequn", reply_to="12"),
        # W11 (this week)
        Event(GROUP1, "20", m, at("2024-03-11", "09:00"), ALICE, text="morning"),
        Event(GROUP1, "21", m, at("2024-03-13", "09:00"), ALICE, text="anyone know 怎么报名？"),
        Event(GROUP1, "22", j, at("2024-03-13", "10:00"), EVIL_A),
        Event(GROUP1, "23", m, at("2024-03-13", "10:05"), EVIL_A, text="hi <b>all</b> \u200b"),
        Event(GROUP1, "24", m, at("2024-03-14", "20:00"), BOB_A, text="hello"),
        Event(GROUP1, "25", m, at("2024-03-14", "20:01"), BOT, text="欢迎！"),
        Event(GROUP1, "26", lv, at("2024-03-15", "12:00"), ZHANG),
        Event(GROUP2, "1", m, at("2024-03-16", "12:00"), EVIL_A, text="<a href='http://evil.example/'>free</a>"),
    ]


def ingest(engine, events, community: str = COMMUNITY) -> None:
    LiveIngest(engine, parse_playbook(f"community: {community}\ntimezone: Asia/Shanghai\n")).receive(events)
