"""Self-introduction gate: 名字-地区-职业 within a time limit, parts stored as tags, removal on timeout."""

from __future__ import annotations

from modules.conftest import HOUR, MIN, kinds

PLAYBOOK = """gates:
  intro:
    groups: [新人群]
    template: 名字-地区-职业
    within: 24h
    tags: [地区, 职业]
    prompt: "欢迎 {name}！请在 {within} 内按「{template}」自我介绍"
    hint: "{name}，格式是「{template}」，例如 张三-上海-产品经理"
"""


def test_an_introduction_passes_and_becomes_tags(make_run):
    run = make_run(PLAYBOOK)
    [prompt] = run.send(None, kind="join", group="新人群", name="王五", member=5)
    assert prompt.kind.value == "reply" and prompt.payload["text"] == "欢迎 王五！请在 1 day 内按「名字-地区-职业」自我介绍"
    [hint] = run.later(MIN).send("大家好", group="新人群", member=5)
    assert hint.payload["text"] == "王五，格式是「名字-地区-职业」，例如 张三-上海-产品经理"
    assert run.later(MIN).send("还在吗", group="新人群", member=5) == []  # the hint is given once
    out = run.later(MIN).send("王五－上海 / 产品\u200b经理", group="新人群", member=5)  # full-width dash, spaces, zero-width
    assert kinds(out) == ["tag", "tag"] and [a.payload["tag"] for a in out] == ["地区:上海", "职业:产品经理"]
    assert out[0].rule == "gate:intro" and out[0].reason == "introduced as 名字-地区-职业: 上海"
    assert run.people.tags(5) == {"地区:上海", "职业:产品经理"}
    assert run.tick(run.now + 2 * 24 * HOUR) == []  # passed: no removal
    assert run.summary()[5]["gates"] == {"intro": "passed: 王五 / 上海 / 产品经理"}


def test_no_introduction_in_time_means_removal(make_run):
    run = make_run(PLAYBOOK)
    run.send(None, kind="join", group="新人群", name="赵六", member=6)
    run.later(HOUR).send("hello everyone, glad to be here", group="新人群", member=6)  # a sentence, not an intro
    assert run.tick(run.now + 22 * HOUR) == []  # 23 h after joining: still time
    [kick] = run.tick(run.now + 2 * HOUR)
    assert kick.kind.value == "kick" and kick.rule == "gate:intro" and kick.member_id == 6
    assert kick.reason == "did not introduce themselves as 名字-地区-职业 within 1 day"
    assert run.summary()[6]["gates"] == {"intro": "failed: did not introduce themselves as 名字-地区-职业 within 1 day"}
    assert run.tick(run.now + 48 * HOUR) == []  # removed once


def test_only_guarded_groups_and_leaving_clears_the_deadline(make_run):
    run = make_run(PLAYBOOK)
    assert run.send(None, kind="join", group="other", member=7) == []
    run.send(None, kind="join", group="新人群", member=8)
    run.later(MIN).send(None, kind="leave", group="新人群", member=8)
    assert run.tick(run.now + 48 * HOUR) == []


def test_custom_separators_and_all_parts_as_tags(make_run):
    run = make_run("gates:\n  intro:\n    template: 'name|city'\n    separators: ['|', ' ']\n    within: 1h\n")
    run.send(None, kind="join")
    assert run.later(MIN).send("Ann-Berlin") == []  # '-' is not a separator here
    assert [a.payload["tag"] for a in run.later(MIN).send("Ann | Berlin")] == ["name:Ann", "city:Berlin"]


def test_html_in_an_introduction_is_kept_as_text(make_run):
    run = make_run("gates:\n  intro:\n    within: 1h\n")
    run.send(None, kind="join", member=9)
    out = run.later(MIN).send("<img src=x onerror=alert(1)>-北京-产品 经理", member=9)
    assert [a.payload["tag"] for a in out] == ["名字:<img src=x onerror=alert(1)>", "地区:北京", "职业:产品 经理"]
