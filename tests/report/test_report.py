"""shequn report: content, hostile text, empty community, weekly comparison, errors (SQLite and PostgreSQL)."""

from __future__ import annotations

import html as htmlmod
import re
from datetime import date

from report_history import BOB, EVIL, history, ingest

from shequn.insights.report.render import person
from shequn.insights.report.view import MAX_COHORTS, cohorts_cut, delta, duration, response_bins
from shequn.insights.report.weeks import Week, report_week, local_midnight_ms


def section(page: str, sid: str) -> str:
    match = re.search(rf'<section id="{sid}"[^>]*>(.*?)</section>', page, re.S)
    assert match, f"no section {sid!r} in the report"
    return match.group(1)


def text(fragment: str) -> str:
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", fragment))


def kpi(page: str, key: str) -> str:
    match = re.search(rf'<div class="kpi" data-key="{key}">(.*?)</div>\s*</div>|<div class="kpi" data-key="{key}">(.*?)</div>\n', page, re.S)
    assert match, key
    return " ".join(text(match.group(0)).split())


def test_weekly_report_compares_this_week_with_last(cli, community, tmp_path):
    out = tmp_path / "weekly.html"
    result = cli("report", "--weekly", "--until", "2024-03-18", "--out", out, "--lang", "en")
    assert "wrote weekly report" in result.output
    page = out.read_text(encoding="utf-8")
    assert "2024-W11" in page and "2024-W10" in page
    # 5 human messages this week against 4 (the bot's welcome does not count)
    assert "Messages 5 ▲ +1 (+25%) last week: 4" in kpi(page, "messages")
    assert "Speakers 3 ▲ +1 (+50%) last week: 2" in kpi(page, "speakers")
    assert "Leaves 1 ▲ +1 last week: 0" in kpi(page, "leaves")
    assert 'class="delta down"' in re.search(r'data-key="leaves".*?</div>\s*</div>', page, re.S).group(0)  # more leaves: worse
    new, lost = text(section(page, "new-speakers")), text(section(page, "lost-speakers"))
    assert "New speakers (2)" in new and "Alice" not in new and "张三" not in new
    assert "Lost speakers (1)" in lost and "张三" in lost
    stages = section(page, "stages")
    assert "学习1群" in stages and "&lt;b&gt;Evil&lt;/b&gt; 群" in stages
    assert "<svg" in section(page, "actives") and "<svg" in section(page, "response")


def test_hostile_names_are_escaped_and_invisible_characters_shown(cli, community, tmp_path):
    out = tmp_path / "r.html"
    cli("report", "--weekly", "--until", "2024-03-18", "--out", out)
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<b>Evil</b>" not in page and "&lt;b&gt;Evil&lt;/b&gt; 群" in page
    # the zero-width space and the bidi override in Bob's name are shown, not hidden
    assert 'Bob<span class="zw" title="invisible character">U+200B</span><span class="zw" title="invisible character">U+202E</span>' in page
    assert "\u200b" not in page and "\u202e" not in page


def test_full_report_sections_and_languages(cli, community, tmp_path):
    both, zh, en = (tmp_path / f"{n}.html" for n in ("both", "zh", "en"))
    cli("report", "--since", "2024-02-26", "--until", "2024-03-18", "--out", both)
    cli("report", "--since", "2024-02-26", "--until", "2024-03-18", "--out", zh, "--lang", "zh")
    cli("report", "--since", "2024-02-26", "--until", "2024-03-18", "--out", en, "--lang", "en")
    page = both.read_text(encoding="utf-8")
    assert 'id="lang-zh"' in page and 'lang="en"' in page and 'lang="zh-CN"' in page
    assert "社群报告" in page and "Community report" in page
    assert "Messages 11" in kpi(en.read_text(encoding="utf-8"), "messages")  # 2 + 4 + 5 human messages
    assert "消息数 11" in kpi(zh.read_text(encoding="utf-8"), "messages")
    assert "Community report" not in zh.read_text(encoding="utf-8") and "社群报告" not in en.read_text(encoding="utf-8")
    for sid in ("actives", "heatmap", "cohorts", "pyramid", "response"):
        assert "<svg" in section(page, sid), sid
    unanswered = text(section(en.read_text(encoding="utf-8"), "unanswered"))
    assert "anyone know 怎么报名？" in unanswered and "how do I install it?" not in unanswered
    # no remote reference anywhere, and the page forbids fetching one
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "http://evil.example" not in page  # the hostile link in a message is not rendered as a link either
    assert "<script" not in page.lower()


def test_empty_community(cli, engine, tmp_path):
    ingest(engine, [], community="空社群")
    for args in ([], ["--weekly"]):
        out = tmp_path / "empty.html"
        cli("report", *args, "--out", out, "--lang", "en")
        page = out.read_text(encoding="utf-8")
        assert "空社群" in page and "No data for this period." in page and "<svg" not in page


def test_weekly_with_no_previous_week(cli, community, tmp_path):
    out = tmp_path / "first.html"
    cli("report", "--weekly", "--until", "2024-03-04", "--out", out, "--lang", "en")
    page = out.read_text(encoding="utf-8")
    assert "2024-W09" in page and "No activity in the previous week" in page
    assert "Messages 2 ▲ +2 last week: 0" in kpi(page, "messages")
    assert "New speakers (2)" in text(section(page, "new-speakers"))


def test_errors_are_clear_and_write_nothing(cli, community, engine, tmp_path):
    out = tmp_path / "x.html"
    for args, message in (
        (["--group", "nope"], "no group named 'nope'"),
        (["--until", "soon"], "--until 'soon' is not a date"),
        (["--lang", "fr"], "--lang must be one of both, zh, en"),
        (["--weekly", "--since", "2024-03-01"], "pick the week with --until"),
        (["--since", "2024-03-10", "--until", "2024-03-01"], "--since must be before --until"),
        (["--community", "nope"], "no community named 'nope'"),
    ):
        result = cli("report", "--out", out, *args, ok=False)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert not out.exists()
    ingest(engine, [], community="second")
    result = cli("report", "--out", out, ok=False)
    assert result.exit_code == 1 and "several communities: pick one with --community" in result.output
    cli("report", "--out", out, "--community", "second")
    assert out.exists()


def test_group_filter(cli, community, tmp_path):
    out = tmp_path / "g.html"
    cli("report", "--weekly", "--until", "2024-03-18", "--group", "<b>Evil</b> 群", "--out", out, "--lang", "en")
    page = out.read_text(encoding="utf-8")
    assert "Messages 1 ▲ +1 last week: 0" in kpi(page, "messages")
    assert "学习1群" not in section(page, "stages")


def test_report_weeks_are_iso_weeks_in_the_community_time_zone():
    tz = "America/New_York"
    # DST began on Sunday 2024-03-10: that week is 167 hours long and still ends on Monday 00:00 local time
    week = report_week(local_midnight_ms(date(2024, 3, 11), tz), tz)
    assert (week.start, week.label) == (date(2024, 3, 4), "2024-W10")
    assert (week.end_ms - week.start_ms) == 167 * 3_600_000
    # an until in the middle of a week falls back to the last complete one
    assert report_week(local_midnight_ms(date(2024, 3, 13), tz), tz).start == date(2024, 3, 4)
    assert Week(date(2024, 12, 30), tz).label == "2025-W01"


def test_formatting_helpers():
    assert delta(5, 4)["text"] == "+1 (+25%)" and delta(5, 4)["direction"] == "up"
    assert delta(3, 4, better="down")["direction"] == "up" and delta(4, 4)["arrow"] == "■"
    assert delta(0.5, 0.25, kind="pct")["text"] == "+25.0 pt"
    assert [duration(s) for s in (5, 600, 5400, 86400 * 2)] == ["5s", "10m", "1.5h", "2d"]
    assert str(person("x" * 100)).endswith("…") and len(str(person("x" * 100))) == 61
    assert str(person(EVIL)).startswith("&lt;script&gt;") and "U+200B" in str(person(BOB))
    assert len(history()) == 15
    labels, counts = response_bins([30, 60, 61, 600, 3600, 90000, None, None])
    assert dict(zip(labels, counts)) == {"≤1m": 2, "≤5m": 1, "≤15m": 1, "≤1h": 1, "≤4h": 0, "≤24h": 0, ">24h": 1, "∅": 2}
    cohorts = [{"cohort": f"c{i}", "size": 1, "retention": [1.0]} for i in range(MAX_COHORTS + 6)]
    assert cohorts_cut({"cohorts": cohorts}) == {"shown": MAX_COHORTS, "total": MAX_COHORTS + 6}
    assert cohorts_cut({"cohorts": cohorts[:3]}) is None


def test_the_chart_and_the_response_section_count_the_same_questions(community):
    """The report reuses build_insights' frame and first responses (no second load): its chart data
    and the document's response_time section describe the same questions, and the weekly speakers
    come from the same frames (W10: Alice's question answered after 10 minutes, 张三's unanswered;
    W11: Alice's unanswered; new speakers EVIL and BOB)."""
    from shequn.insights.report import data

    with community.connect() as conn:
        last_week = report_week(local_midnight_ms(date(2024, 3, 11), "Asia/Shanghai"), "Asia/Shanghai")
        over = data.overview(conn, 1, since_ms=last_week.start_ms, until_ms=last_week.end_ms)
        section_ = over.doc["members"]["response_time"]
        assert len(over.response_s) == section_["questions"] == 2
        assert sorted(over.response_s, key=lambda s: (s is None, s)) == [600.0, None] and section_["median_s"] == 600.0
        week = data.weekly(conn, 1, until_ms=local_midnight_ms(date(2024, 3, 18), "Asia/Shanghai"))
        assert len(week.response_s) == week.doc["members"]["response_time"]["questions"] == 1
        assert week.response_s == [None]
        assert sorted(week.new_speakers) == sorted([EVIL, BOB]) and week.lost_speakers == ["张三"]
