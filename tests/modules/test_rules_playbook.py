"""The rules, gates and lurkers sections of a playbook: the example shows everything, and every
mistake is reported at its line and key."""

from __future__ import annotations

import pytest

from shequn.domain.actions import ActionKind
from shequn.modules.rules.conditions import Condition
from shequn.playbook.errors import PlaybookError
from shequn.playbook.loader import EXAMPLES, load_playbook, parse_playbook


def _conditions(c: Condition):
    yield c
    for sub in (c.all_ or []) + (c.any_ or []) + ([c.not_] if c.not_ else []):
        yield from _conditions(sub)


def test_the_example_playbook_demonstrates_every_condition_action_and_gate():
    pb = load_playbook(EXAMPLES / "community.yaml")
    rules = pb.modules["rules"]
    used = set()
    kinds = set()
    for r in rules.rules:
        for c in _conditions(r.when):
            used |= {k for k in c.model_fields_set}
        kinds |= {a.kind for a in r.do}
    for step in rules.escalation.ladder:
        kinds |= {a.kind for a in step.do}
    assert used == set(Condition.model_fields), set(Condition.model_fields) - used
    assert {c.keywords.fuzzy > 0 for r in rules.rules for c in _conditions(r.when) if c.keywords} == {True, False}
    assert kinds == set(ActionKind) - {ActionKind.POST}
    gates = pb.modules["gates"]
    assert gates.captcha and gates.intro and gates.invite and gates.paid
    assert any(t.min_level for t in gates.tiered) and any(t.min_points for t in gates.tiered) and any(t.tags for t in gates.tiered)
    assert pb.modules["lurkers"].remind_after == 30 * 86_400_000


BAD = """community: c
rules:
  rules:
    - name: ads
      when:
        any:
          - link: true
          - keyword: [广告]
      do: [delete, {mute: 1 day}]
    - name: ads
      when: {during: "25:00-26:00"}
      do: [explode]
gates:
  intro:
    template: 名字
    within: 24h
lurkers:
  remind_after: 14d
"""


def test_an_invalid_playbook_points_at_each_line_and_key():
    with pytest.raises(PlaybookError) as err:
        parse_playbook(BAD, "bad.yaml")
    lines = str(err.value).splitlines()
    assert "bad.yaml:8:13: rules.rules[0].when.any[1].keyword: unknown key (check the spelling; see the example playbook: shequn playbook example)" in lines
    assert "bad.yaml:9:21: rules.rules[0].do[1].mute: Value error, write a duration like 60s, 10m, 2h, 1d or 7d (got '1 day')" in lines
    assert any(line.startswith("bad.yaml:11:14: rules.rules[1].when.during[0]: Value error, '25:00-26:00' is not a time of day") for line in lines)
    assert any(line.startswith("bad.yaml:12:12: rules.rules[1].do[0]: Value error, unknown action 'explode'") for line in lines)
    assert any(line.startswith("bad.yaml:14:3: gates.intro: Value error, template '名字' needs at least two parts") for line in lines)
    assert "bad.yaml:17:1: lurkers.remove_after: required key is missing" in lines
    assert len(lines) == 6


def test_duplicate_rule_names_and_empty_conditions():
    text = "community: c\nrules:\n  rules:\n    - {name: a, when: {}, do: [warn]}\n    - {name: a, when: {link: true}, do: [warn]}\n"
    with pytest.raises(PlaybookError) as err:
        parse_playbook(text, "dup.yaml")
    msg = str(err.value)
    assert "dup.yaml:4:17: rules.rules[0].when: Value error, empty condition" in msg
    with pytest.raises(PlaybookError) as err:
        parse_playbook(text.replace("when: {}", "when: {shorter_than: 2}"), "dup.yaml")
    assert "rules.rules: Value error, rules[1]: the name 'a' is used twice" in str(err.value)


def test_check_command_reports_lines(sqlite_cli, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD, encoding="utf-8")
    out = sqlite_cli("playbook", "check", str(f), ok=False)
    assert out.exit_code == 1 and "rules.rules[0].when.any[1].keyword: unknown key" in out.output
