"""Each rule condition on its own and combined: when it holds, when it does not, and the reason it gives."""

from __future__ import annotations

from modules.conftest import DAY, HOUR, MIN, T0, kinds


def rule(when: str, do: str = "[warn]", extra: str = "") -> str:
    return f"rules:\n  exempt: {{roles: [admin]}}\n  rules:\n    - name: r\n      when: {when}\n      do: {do}\n{extra}"


def test_keywords_exact_normalized_and_fuzzy(make_run):
    run = make_run(rule("{keywords: [加微信, 代开发票]}"))
    [a] = run.send("有需要的 加 微 信 聊")
    assert a.rule == "r" and "keyword '加微信'" in a.reason
    assert run.send("代開發票 找我")  # traditional characters are folded to simplified
    assert run.send("加\u200b微\u200b信")  # zero-width characters do not hide it
    assert run.send("今天天气不错") == []
    fuzzy = make_run(rule("{keywords: {words: [investment, 稳赚不赔], fuzzy: 1}}"))
    [b] = fuzzy.send("great investmant opportunity")
    assert "fuzzy match 'investmant'" in b.reason
    assert fuzzy.send("稳赚不陪，快来")  # one character off
    assert fuzzy.send("an invention") == []


def test_keywords_fuzzy_on_a_huge_message_stays_bounded(make_run):
    run = make_run(rule("{keywords: {words: [spamword], fuzzy: 2}}"))
    assert run.send("x" * 1_000_000) == []
    assert run.send("y" * 500_000 + " spamword")  # exact matching still scans the whole message


def test_length_limits(make_run):
    run = make_run(rule("{shorter_than: 4}"))
    [a] = run.send(" 嗯 ")
    assert a.reason == "only 1 characters (minimum 4)"
    assert run.send("收到，谢谢大家") == []
    long = make_run(rule("{longer_than: 10}"))
    assert long.send("a" * 11) and long.send("a" * 10) == []


def test_repeated_text_by_the_same_member(make_run):
    run = make_run(rule("{repeated: {times: 3, within: 10m}}"))
    assert run.send("最新优惠 点我") == []
    assert run.later(MIN).send("最新优惠  点我！") == []  # spacing and punctuation do not make it new
    assert run.later(MIN).send("hello", member=2) == []  # someone else
    [a] = run.later(MIN).send("最新優惠 點我")
    assert a.reason == "the same text 3 times in 10 minutes"
    assert run.later(HOUR).send("最新优惠 点我") == []  # the window moved on


def test_same_message_across_groups(make_run):
    run = make_run(rule("{same_text_in_groups: {groups: 3, within: 5m}}"))
    assert run.send("招代理", group="a") == []
    assert run.later(MIN).send("招代理", group="b") == []
    assert run.later(MIN).send("招代理", group="b") == []  # same group again does not count
    [a] = run.later(MIN).send("招代理", group="c")
    assert a.reason == "the same text in 3 groups in 5 minutes"


def test_flood(make_run):
    run = make_run(rule("{flood: {messages: 5, within: 10s}}"))
    out = [run.later(1000).send(f"msg {i}") for i in range(5)]
    assert [len(x) for x in out] == [0, 0, 0, 0, 1] and out[-1][0].reason == "5 messages in 10 seconds"
    assert run.later(60_000).send("calm again") == []


def test_first_messages(make_run):
    run = make_run(rule("{first_messages: 2, shorter_than: 100}"))
    assert [len(run.send(f"hi {i}")) for i in range(4)] == [1, 1, 0, 0]
    assert run.send("hi", member=2)[0].reason == "only 2 characters (minimum 100); message 1 of the member's first 2"


def test_time_windows_in_the_community_time_zone(make_run):
    # ads allowed 12:00-13:00 Beijing time: a rule fires outside the window only
    run = make_run(rule("{shorter_than: 100, not: {during: '12:00-13:00'}}"))
    assert run.at(T0).send("ad")[0].reason == "only 2 characters (minimum 100); not during 12:00-13:00"  # 10:00 local
    assert run.at(T0 + 2 * HOUR + 30 * MIN).send("ad") == []  # 12:30 local
    assert run.at(T0 + 3 * HOUR).send("ad")  # 13:00 local: the window has closed
    utc = make_run(rule("{during: '12:00-13:00'}"), tz="UTC")
    assert utc.at(T0 + 10 * HOUR + 30 * MIN).send("x")  # 12:30 UTC


def test_quiet_hours_cross_midnight_and_days(make_run):
    run = make_run(rule("{during: ['23:00-07:00']}"))
    assert run.at(T0 + 12 * HOUR + 30 * MIN).send("x") == []  # 22:30 local
    assert run.at(T0 + 13 * HOUR + 30 * MIN).send("late")[0].reason == "at 23:30 (during 23:00-07:00)"
    assert run.at(T0 + 20 * HOUR).send("early")  # 06:00 next day
    assert run.at(T0 + 22 * HOUR).send("morning") == []  # 08:00
    weekend = make_run(rule("{days: [sat, sun]}"))  # 2024-05-01 is a Wednesday
    assert weekend.send("wed") == [] and weekend.at(T0 + 3 * DAY).send("sat")[0].reason == "on sat"


def test_role_and_tag_conditions_and_exemptions(make_run):
    run = make_run(rule("{shorter_than: 100}", extra="      exempt: {tags: [白名单]}\n"))
    run.people.set_role(1, "admin")  # module-wide exemption
    run.people.add_tag(2, "白名单", "operator")  # this rule's exemption
    assert run.send("hi", member=1) == [] and run.send("hi", member=2) == [] and run.send("hi", member=3)
    cond = make_run(rule("{tag: [新人], not: {role: [kol]}}"))
    cond.people.add_tag(4, "新人", "gate:intro")
    assert cond.send("x", member=4)[0].reason == "tag 新人; not role kol"
    cond.people.set_role(4, "kol", group_id=cond.group_id("g1"))
    assert cond.send("x", member=4) == []
    assert cond.send("x", member=4, group="other")  # the role is held in g1 only


def test_qr_code_and_media_from_the_payload(make_run):
    run = make_run(rule("{any: [{qr_code: true}, {media: [video]}]}"))
    assert run.send(None, payload={"media": "image", "qr_code": "https://u.wechat.com/abc"})[0].reason == "contains a QR code: https://u.wechat.com/abc"
    assert run.send(None, payload={"attachments": [{"fileName": "pay.png", "qr_code": True}]})[0].reason == "contains a QR code: QR code in pay.png"
    assert run.send(None, payload={"media": "video"})[0].reason == "media: video"
    assert run.send(None, payload={"media": "image"}) == []


def test_all_any_not_combine_and_explain(make_run):
    run = make_run(rule("{all: [{first_messages: 3}, {any: [{keywords: [优惠]}, {longer_than: 20}]}], not: {tag: [VIP]}}"))
    [a] = run.send("限时优惠")
    assert a.reason == "message 1 of the member's first 3; keyword '优惠'; not tag VIP"
    assert run.send("普通聊天") == []


def test_groups_and_unless(make_run):
    run = make_run("rules:\n  rules:\n    - name: r\n      groups: [ads-free]\n      when: {shorter_than: 100}\n      unless: {keywords: [公告]}\n      do: [delete]\n")
    assert run.send("x", group="other") == []
    assert run.send("公告：明天停电", group="ads-free") == []
    assert kinds(run.send("x", group="ads-free")) == ["delete"]


def test_spam_score_from_the_built_in_detector(make_run):
    run = make_run(rule("{spam_score: 0.8}"))
    [a] = run.send("兼职刷单日赚500，加V：abc12345，电话 13800138000，详情 http://t.cn/A6abc")
    assert a.reason.startswith("spam score ") and ">= 0.8 (" in a.reason
    assert "contacts" in a.reason and "phones" in a.reason
    assert run.send("今天的作业我交了，老师辛苦了") == []
    assert run.send(None, payload={"media": "image"}) == []  # nothing to score


def test_the_spam_section_tunes_the_detector_behind_spam_score(make_run):
    group_buy, docs = "团购接龙，今晚八点截止，要的抓紧", "文档在 https://docs.python.org/3/library/re.html 可以看看"
    plain = make_run(rule("{spam_score: 0.5}"))
    assert plain.send(group_buy) == []
    assert "links" in plain.send(docs, member=2)[0].reason  # a newcomer's first message with a link
    tuned = make_run(rule("{spam_score: 0.5}", extra="  spam: {stop_words: [团购接龙], allow_domains: [python.org]}\n"))
    [a] = tuned.send(group_buy)
    assert "stop_words" in a.reason
    assert tuned.send(docs, member=2) == []  # python.org links are no evidence here
