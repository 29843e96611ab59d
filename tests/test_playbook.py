"""Playbook loading: the shipped example is valid; every kind of mistake points at its line and key."""

from __future__ import annotations

import pytest

from shequn.playbook.errors import PlaybookError
from shequn.playbook.loader import EXAMPLES, load_playbook, parse_playbook


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, "pb.yaml")
    return [(p.line, p.key, p.message) for p in info.value.problems]


def test_example_playbook_is_valid_and_enables_welcome():
    pb = load_playbook(EXAMPLES / "community.yaml")
    assert pb.community == "开源学习营" and pb.timezone == "Asia/Shanghai"
    assert "welcome" in pb.modules  # other modules (rules, gates, points ...) add their own sections
    assert [g.kind.value for g in pb.core.groups] == ["acquisition", "vip", "retention"]


def test_minimal_playbook_defaults_to_shanghai():
    pb = parse_playbook("community: c\n")
    assert pb.timezone == "Asia/Shanghai" and pb.modules == {}


def test_unknown_keys_nested_and_top_level_with_suggestion():
    text = "community: c\nwelcome:\n  template: hi\n  gropus: [a]\nwelcom: {}\n"
    assert problems(text) == [
        (4, "welcome.gropus", "unknown key (check the spelling; see the example playbook: shequn playbook example)"),
        (5, "welcom", "unknown key; did you mean 'welcome'?"),
    ]


def test_bad_values_point_at_the_item_in_a_list():
    text = "community: c\ngroups:\n  - name: a\n  - name: b\n    kind: bogus\n    capacity: -5\n"
    got = problems(text)
    assert [(line, key) for line, key, _ in got] == [(5, "groups[1].kind"), (6, "groups[1].capacity")]
    assert "acquisition" in got[0][2] and "greater than 0" in got[1][2]


def test_missing_required_key_and_bad_timezone():
    got = problems("timezone: Mars/Olympus\n")
    assert (1, "timezone", "Value error, unknown time zone 'Mars/Olympus'; use an IANA name such as Asia/Shanghai or UTC") in got
    assert any(key == "community" and msg == "required key is missing" for _, key, msg in got)


def test_yaml_syntax_error_has_a_line():
    got = problems("community: c\nwelcome:\n  template: [unclosed\n")
    assert got[0][0] is not None and got[0][2].startswith("YAML syntax error")


def test_duplicate_key_is_an_error():
    got = problems("community: a\ncommunity: b\n")
    assert got[0][0] == 2 and "duplicate" in got[0][2]


def test_template_placeholders_are_checked():
    got = problems("community: c\nwelcome:\n  template: 'hi {nmae}'\n")
    assert got[0][:2] == (3, "welcome.template") and "{name}" in got[0][2]


def test_empty_and_non_mapping_playbooks():
    assert problems("")[0][2].startswith("the playbook is empty")
    assert problems("- a\n- b\n")[0][2].startswith("a playbook is a mapping")


def test_cli_check_reports_file_line_key(sqlite_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("community: c\nwelcome:\n  template: hi\n  once_per_days: -1\n", encoding="utf-8")
    result = sqlite_cli("playbook", "check", str(bad), ok=False)
    assert result.exit_code == 1
    assert f"{bad}:4:3: welcome.once_per_days: Input should be greater than or equal to 0" in result.output
    good = sqlite_cli("playbook", "check", str(EXAMPLES / "community.yaml"))
    assert "ok" in good.output and "welcome" in good.output


def test_cli_example_round_trips(sqlite_cli, tmp_path):
    out = tmp_path / "pb.yaml"
    out.write_text(sqlite_cli("playbook", "example").stdout, encoding="utf-8")
    assert load_playbook(out).community == "开源学习营"


def test_docs_and_example_name_every_module_the_engine_accepts():
    """docs/playbook.md lists every playbook module (in English and Chinese), each linked to its docs, and the
    example playbook enables every one: a new module cannot be left out of either."""
    import re
    from pathlib import Path

    from shequn.engine.registry import available_modules

    docs = Path(__file__).resolve().parents[1] / "docs"
    text = (docs / "playbook.md").read_text(encoding="utf-8")
    english, chinese = text.split("## 中文", 1)
    keys = set(available_modules())
    for part in (english, chinese):
        rows = dict(re.findall(r"^\| `(\w+)` \|.*\| (.+) \|$", part, re.M))
        assert set(rows) == keys, (set(rows) ^ keys)
        for link in re.findall(r"\]\((\w+\.md)", "".join(rows.values())):
            assert (docs / link).is_file(), link
    assert "later releases" not in text
    assert set(load_playbook(EXAMPLES / "community.yaml").modules) == keys
