"""mbox importer: From_ splitting, mboxrd unquoting, headers, charsets, pipermail, gzip, rejects."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import FIXTURES

from shequn.domain.events import Event, EventKind, Reject
from shequn.importers.base import ImportError_, ImportOptions, Source
from shequn.importers.mbox import FROM_LINE, IMPORTER, html_to_text, sniff

DEV = FIXTURES / "mbox" / "dev.mbox"
PIPERMAIL = FIXTURES / "mbox" / "python-dev" / "2010-January.txt"
TRUNCATED = FIXTURES / "mbox" / "truncated.mbox"
NOT_MBOX = FIXTURES / "mbox" / "not-mbox.txt"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CST = timezone(timedelta(hours=8))


def read(path: Path, group: str | None = None, tz=SHANGHAI) -> tuple[list[Event], list[Reject]]:
    items = list(IMPORTER.read(Source(path), ImportOptions(tz=tz, group=group)))
    return [i for i in items if isinstance(i, Event)], [i for i in items if isinstance(i, Reject)]


def test_dev_mbox_messages_and_fields():
    events, _ = read(DEV)
    ids = [e.platform_id for e in events]
    assert ids[:4] == ["m1@example.org", "m2@example.org", "m3@example.org", "m4@example.com"]
    assert ids[4].startswith("nomsgid:") and len(ids[4]) == len("nomsgid:") + 32
    assert ids[5:] == ["m8@example.cn", "m9@lists.example.org", "m10@example.org", "m11@example.org", "m12@example.net"]
    assert all(e.kind == EventKind.MESSAGE for e in events)
    by_id = {e.platform_id: e for e in events}

    m1 = by_id["m1@example.org"]
    assert m1.at == datetime(2010, 1, 4, 10, 0, tzinfo=CST)
    assert (m1.author.external_id, m1.author.name, m1.author.is_bot) == ("zhangsan@example.org", "张三", False)
    assert m1.text == "大家好 👋，本周社群运营周报如下：\n新成员 12 人。"
    assert m1.payload == {"subject": "社群运营周报 🎉", "list_id": "dev.lists.example.org"}
    # List-Id decides the group; its phrase (an RFC 2047 encoded-word) is the group's name
    assert (m1.group.platform, m1.group.external_id, m1.group.name) == ("mbox", "dev.lists.example.org", "Shequn 开发者")
    assert m1.reply_to is None

    assert by_id["m2@example.org"].reply_to == "m1@example.org"  # In-Reply-To
    assert by_id["m3@example.org"].reply_to == "m2@example.org"  # no In-Reply-To: last id of (folded) References
    # multipart/alternative: the gb2312 text/plain part wins over the HTML part
    assert by_id["m3@example.org"].text == "大家好，这是一封用 GB2312 编码的邮件。\n第二行。"
    assert by_id["m3@example.org"].author.name == "王五"

    m4 = by_id["m4@example.com"]  # HTML only: tags, style and script stripped, entities decoded
    assert m4.text == "Hello world & friends\n\n第二段"
    assert m4.payload["html"] is True and m4.at == datetime(2010, 1, 5, 9, 0, tzinfo=timezone.utc)

    nomsgid = events[4]
    assert nomsgid.author.external_id == "bob@example.com" and nomsgid.author.name is None
    assert nomsgid.at == datetime(2010, 1, 5, 8, 0, tzinfo=SHANGHAI)  # Date without a zone: --tz

    m8 = by_id["m8@example.cn"]  # raw GBK bytes in headers and body, no charset declared
    assert (m8.author.name, m8.payload["subject"], m8.text) == ("赵六", "欢迎新人", "欢迎新人加入！请先阅读群规。")
    assert m8.payload["decoded_as"] == "gb18030"

    assert by_id["m9@lists.example.org"].author.is_bot is True  # Auto-Submitted: auto-generated
    assert by_id["m10@example.org"].text == "See the attached report."
    assert by_id["m10@example.org"].payload["attachments"] == [{"content_type": "application/pdf", "filename": "周报.pdf"}]

    m11 = by_id["m11@example.org"]  # HTML in names, zero-width characters: stored unchanged
    assert m11.author.name == "<b>Eve</b>\u200b"
    assert m11.text == 'hi\u200bthere <script>alert("x")</script>'

    m12 = by_id["m12@example.net"]  # no List-Id: the file name; -0000 means UTC; address lower-cased
    assert (m12.group.external_id, m12.author.external_id, m12.author.name) == ("dev", "frank@example.net", "Frank")
    assert m12.at == datetime(2010, 1, 9, 2, 0, tzinfo=timezone.utc)
    assert "list_id" not in m12.payload


def test_from_lines_in_bodies_do_not_split_and_mboxrd_is_unquoted():
    events, _ = read(DEV)
    assert events[1].text == (
        "> 大家好 👋，本周社群运营周报如下：\n\n收到！\n"
        "From the archive: an mboxrd-quoted line\n"
        ">From a doubly quoted line\n"
        "From here on this unquoted line follows a text line and must not split.\n\n"
        "From what I hear, a blank line before a From line without a date does not split either."
    )


def test_rejects_name_the_message():
    _, rejects = read(DEV)
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 77 Message-ID <nodate@example.org>", "missing Date header"),
        ("line 85 Message-ID <baddate@example.org>", "unreadable Date header"),
        ("line 153", "not an email message (no header lines after the From_ line)"),
    ]
    assert rejects[1].raw.startswith("From carol@example.com  Wed Jan  6 10:00:00 2010\n")
    assert "Date: sometime last week" in rejects[1].raw
    assert all(r.source == "dev.mbox" for r in rejects)


def test_group_option_overrides_list_id_but_list_id_is_kept():
    events, _ = read(DEV, group="开发者邮件列表")
    assert {(e.group.external_id, e.group.name) for e in events} == {("开发者邮件列表", "开发者邮件列表")}
    assert events[0].payload["list_id"] == "dev.lists.example.org"


def test_missing_message_id_gets_a_stable_hash():
    first, _ = read(DEV)
    again, _ = read(DEV)
    assert first[4].platform_id == again[4].platform_id


def test_pipermail_volume_deobfuscation_and_directory_group():
    events, rejects = read(PIPERMAIL)
    assert rejects == []
    assert [e.platform_id for e in events] == ["p1@example.org", "p2@example.org"]
    # "user at example.org (Name)" is turned back into an address; the volume "2010-January" stands for its directory
    assert [(e.author.external_id, e.author.name) for e in events] == [("zhangsan@example.org", "张三"), ("lisi@example.org", None)]
    assert {e.group.external_id for e in events} == {"python-dev"}
    assert events[0].text == "大家好！本周报告见下。\n\nFrom my point of view this unquoted line is body text (pipermail does not escape)."
    assert events[1].reply_to == "p1@example.org"
    assert events[1].text == "收到 🙏 contact me at lisi at example.org"  # body text is stored as archived
    assert events[0].payload == {"subject": "[dev] 社群运营周报"}


def test_gzip_volume_reads_like_the_plain_one(tmp_path):
    d = tmp_path / "python-dev"
    d.mkdir()
    gz = d / "2010-January.txt.gz"
    gz.write_bytes(gzip.compress(PIPERMAIL.read_bytes()))
    plain, _ = read(PIPERMAIL)
    zipped, rejects = read(gz)
    assert rejects == [] and zipped == plain
    assert sniff(gz)


def _many_messages(n: int) -> bytes:
    out = []
    for i in range(n):
        out.append(
            f"From u{i}@example.org  Mon Jan  4 10:00:00 2010\n"
            f"From: 用户{i} <u{i}@example.org>\nDate: Mon, 04 Jan 2010 10:{i % 60:02d}:00 +0800\n"
            f"Message-ID: <n{i}@example.org>\nSubject: 第 {i} 封\n\n正文 {i} " + "x" * (i % 50) + "\n\n"
        )
    return "".join(out).encode("utf-8")


def test_truncated_gzip_keeps_what_came_before(tmp_path):
    data = gzip.compress(_many_messages(400))
    f = tmp_path / "cut.mbox.gz"
    f.write_bytes(data[: len(data) // 2])
    items = list(IMPORTER.read(Source(f), ImportOptions(tz=SHANGHAI)))
    *events, last = items
    assert 10 < len(events) < 400
    assert [e.platform_id for e in events] == [f"n{i}@example.org" for i in range(len(events))]
    assert isinstance(last, Reject) and last.reason.startswith("file is truncated: compressed data ends or is damaged after line")
    assert f"inside the message starting at line {len(events) * 8 + 1}" in last.reason  # 8 lines per message
    assert last.raw.startswith(f"From u{len(events)}@example.org ") and "\n\n正文" in last.raw


def test_truncated_plain_file():
    events, rejects = read(TRUNCATED)
    assert [e.platform_id for e in events] == ["t1@example.org"]
    assert [(r.location, r.reason) for r in rejects] == [
        ("line 15", "file is truncated: it ends in the middle of line 15, inside the message starting at line 9")
    ]
    assert rejects[0].raw.endswith("This message is cut off in the midd")


def test_crlf_file_gives_the_same_events(tmp_path):
    f = tmp_path / "dev.mbox"
    f.write_bytes(DEV.read_bytes().replace(b"\n", b"\r\n"))
    crlf, crlf_rejects = read(f)
    lf, lf_rejects = read(DEV)
    assert [(e.platform_id, e.text, e.at, e.reply_to, e.author) for e in crlf] == [
        (e.platform_id, e.text, e.at, e.reply_to, e.author) for e in lf
    ]
    assert len(crlf_rejects) == len(lf_rejects) == 3


def test_not_an_mbox_is_a_clear_error():
    with pytest.raises(ImportError_, match="not an mbox file: line 1 should be a 'From sender date' separator line"):
        read(NOT_MBOX)
    assert not sniff(NOT_MBOX)
    assert sniff(DEV) and sniff(PIPERMAIL)


def test_bad_gzip_is_a_clear_error(tmp_path):
    f = tmp_path / "bad.mbox.gz"
    f.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(ImportError_, match="cannot read"):
        read(f)


def test_empty_file_has_no_events(tmp_path):
    f = tmp_path / "empty.mbox"
    f.write_bytes(b"")
    assert read(f) == ([], [])


def test_huge_message_passes_through(tmp_path):
    body = "加\u200bV：ｗｘ１２３ " + "长" * 300_000
    f = tmp_path / "big.mbox"
    f.write_text(
        "From a@example.org  Mon Jan  4 10:00:00 2010\nFrom: a@example.org\nDate: Mon, 04 Jan 2010 10:00:00 +0800\n"
        f"Message-ID: <big@example.org>\nContent-Type: text/plain; charset=utf-8\n\n{body}\n",
        encoding="utf-8",
    )
    events, rejects = read(f)
    assert rejects == [] and events[0].text == body


def test_nul_characters_become_replacement_characters(tmp_path):
    f = tmp_path / "nul.mbox"
    f.write_bytes(
        b"From a@example.org  Mon Jan  4 10:00:00 2010\nFrom: a@example.org\nDate: Mon, 04 Jan 2010 10:00:00 +0800\n"
        b"Message-ID: <nul@example.org>\n\nbefore\x00after\n"
    )
    events, _ = read(f)
    assert events[0].text == "before\ufffdafter"


def test_html_to_text_keeps_hostile_looking_text():
    assert html_to_text("<div>a&lt;b&gt;</div><br>c") == "a<b>\n\nc"


@pytest.mark.parametrize(
    "line, separator",
    [
        (b"From god@heaven.af.mil Sat Jan  3 01:05:34 1996\n", True),  # qmail mbox(5)
        (b"From user at example.org  Mon Jan  4 10:00:00 2010\n", True),  # pipermail .txt volume
        (b"From u2@a.invalid (comment) Sat Jul 27 03:26:47 1996\n", True),  # extra words before the date
        (b"From u3 <u3@a.invalid> Mon Aug 12 14:43:33 1996\n", True),
        (b"From 1234abcd Mon Sep 17 00:00:00 2001\n", True),  # git format-patch
        (b"From MAILER-DAEMON Fri Jun 23 02:56:55 CET DST 00\n", True),  # zone words, two-digit year
        (b"From here on it gets better\n", False),
        (b"From: someone@example.org\n", False),
        (b">From god@heaven.af.mil Sat Jan  3 01:05:34 1996\n", False),
    ],
)
def test_from_line_recognition(line, separator):
    assert bool(FROM_LINE.match(line)) is separator


def test_from_line_needs_a_blank_line_before_it(tmp_path):
    f = tmp_path / "x.mbox"
    f.write_text(
        "From a@example.org  Mon Jan  4 10:00:00 2010\nFrom: a@example.org\nDate: Mon, 04 Jan 2010 10:00:00 +0800\n"
        "Message-ID: <a@example.org>\n\nforwarded below:\nFrom b@example.org  Mon Jan  4 09:00:00 2010\nend\n",
        encoding="utf-8",
    )
    events, rejects = read(f)
    assert rejects == [] and len(events) == 1
    assert events[0].text == "forwarded below:\nFrom b@example.org  Mon Jan  4 09:00:00 2010\nend"


def test_encoded_word_attachment_name(tmp_path):
    f = tmp_path / "x.mbox"
    f.write_text(
        "From a@example.org  Mon Jan  4 10:00:00 2010\nFrom: a@example.org\nDate: Mon, 04 Jan 2010 10:00:00 +0800\n"
        'Message-ID: <a@example.org>\nContent-Type: multipart/mixed; boundary="B"\n\n--B\n'
        'Content-Type: image/png; name="=?utf-8?b?5Zu+54mH?=.png"\n'
        'Content-Disposition: attachment; filename="=?utf-8?b?5Zu+54mH?=.png"\n\niVBORw0K\n--B--\n',
        encoding="utf-8",
    )
    events, _ = read(f)
    assert events[0].text == "" and events[0].payload["attachments"] == [{"content_type": "image/png", "filename": "图片.png"}]


def test_encoded_display_name_with_a_comma(tmp_path):
    f = tmp_path / "x.mbox"
    f.write_text(
        "From z@example.org  Mon Jan  4 10:00:00 2010\nFrom: =?utf-8?b?5byg5LiJLCDkuqflk4Hnu4/nkIY=?= <Z@Example.org>\n"
        "Date: Mon, 04 Jan 2010 10:00:00 +0800\nMessage-ID: <c@example.org>\n\nhi\n",
        encoding="utf-8",
    )
    events, _ = read(f)
    assert (events[0].author.external_id, events[0].author.name) == ("z@example.org", "张三, 产品经理")


def test_import_twice_is_idempotent_and_stats(cli):
    first = cli.json("import", "mbox", str(DEV), "--community", "c", "--json")
    assert (first["added"], first["duplicates"], first["rejected"]) == (10, 0, 3)
    assert first["reject_reasons"] == {
        "missing Date header": 1,
        "unreadable Date header": 1,
        "not an email message (no header lines after the From_ line)": 1,
    }
    again = cli.json("import", "mbox", str(DEV), "--community", "c", "--json")
    assert (again["added"], again["duplicates"], again["rejected"]) == (0, 10, 3)
    (comm,) = cli.json("stats", "--json")["communities"]
    # 10 messages, one from a bot (Auto-Submitted); 9 people, 8 of them human
    assert (comm["messages"], comm["members"], comm["speakers"], comm["joins"], comm["leaves"]) == (9, 8, 8, 0, 0)
    assert comm["first_at"] == "2010-01-04T02:00:00Z" and comm["last_at"] == "2010-01-09T02:00:00Z"
    assert sorted(g["name"] for g in comm["groups"]) == ["Shequn 开发者", "dev"]


def test_directory_of_pipermail_volumes(sqlite_cli, tmp_path):
    d = tmp_path / "python-dev"
    d.mkdir()
    (d / "2010-January.txt.gz").write_bytes(gzip.compress(PIPERMAIL.read_bytes()))
    (d / "2010-February.txt").write_bytes(_many_messages(3))
    (d / "README.txt").write_text("not a mail archive\n")
    summary = sqlite_cli.json("import", "mbox", str(tmp_path), "--community", "lists", "--json")
    assert (summary["files"], summary["added"], summary["rejected"]) == (2, 5, 0)
    assert [Path(p).name for p in summary["skipped_files"]] == ["README.txt"]
    (comm,) = sqlite_cli.json("stats", "--json")["communities"]
    assert [g["name"] for g in comm["groups"]] == ["python-dev"]
