"""`shequn moderation check` on files and stdin, and `learn` on SQLite and PostgreSQL changing a verdict."""

from __future__ import annotations

import json

import pytest

from shequn.moderation.detector import Detector

# An operator's own kind of spam (another group's event, posted again and again) that the shipped model calls ham.
CAMPAIGN = [
    "周六晚上八点老地方见，带上朋友一起来玩狼人杀，人多热闹",
    "周六晚上八点老地方见，带上朋友一起来玩剧本杀，人多热闹",
    "周日晚上八点老地方见，带上朋友一起来玩狼人杀，人多更热闹",
    "周六晚上七点老地方见，带上朋友一起来玩狼人杀，人多热闹哦",
]
NEW_ONE = "周五晚上八点老地方见，带上朋友一起来玩狼人杀，人多热闹呀"


def verdicts(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_check_file_and_stdin(cli, tmp_path):
    f = tmp_path / "messages.txt"
    f.write_bytes("加V：abc123 免费领取\n今天天气不错\n".encode() + b"\xff\xfe broken \xe5\x8a bytes\n" + "see you\n".encode())
    result = cli("moderation", "check", str(f))
    out = verdicts(result.stdout)
    assert len(out) == 4
    assert out[0]["spam"] is True and out[1]["spam"] is False
    assert all(set(v) == {"spam", "score", "checks"} and 0 <= v["score"] <= 1 for v in out)
    assert [c["name"] for c in out[0]["checks"]][:4] == ["classifier", "links", "phones", "contacts"]
    assert "line 3: not UTF-8" in result.stderr

    piped = cli("moderation", "check", "-", input="薇信 lily888 一三八〇〇一三八〇〇〇 日结\n")
    (v,) = verdicts(piped.stdout)
    assert v["spam"] is True
    assert any(c["name"] == "phones" and c["spam"] for c in v["checks"])


def test_check_missing_file_is_a_clear_error(cli, tmp_path):
    result = cli("moderation", "check", str(tmp_path / "nope.txt"), ok=False)
    assert result.exit_code == 1 and "no such file" in result.stderr


def test_learn_changes_the_verdict_on_a_new_sample(cli, tmp_path):
    assert Detector.default().check(NEW_ONE).spam is False  # the shipped model does not know this campaign
    before = verdicts(cli("moderation", "check", "-", input=NEW_ONE + "\n").stdout)[0]
    assert before["spam"] is False

    spam = tmp_path / "spam.txt"
    spam.write_text("\n".join(CAMPAIGN + CAMPAIGN[:1]) + "\n", encoding="utf-8")  # one duplicate
    ham = tmp_path / "ham.txt"
    ham.write_text("周末去爬山吗\n新版本已经发布了\n", encoding="utf-8")
    result = cli("moderation", "learn", "--spam", str(spam), "--ham", str(ham), "--folds", "2")
    assert "spam: 4 added, 1 duplicate(s) ignored" in result.stdout
    assert "ham: 2 added" in result.stdout
    assert "2-fold cross-validation of the full detector: precision" in result.stdout

    after = verdicts(cli("moderation", "check", "-", input=NEW_ONE + "\n").stdout)[0]
    assert after["spam"] is True and after["score"] > before["score"]
    similarity = next(c for c in after["checks"] if c["name"] == "similarity")
    assert similarity["spam"] and "Jaccard" in similarity["details"]
    # the shipped model is still available and unchanged
    shipped = verdicts(cli("moderation", "check", "--shipped", "-", input=NEW_ONE + "\n").stdout)[0]
    assert shipped == before

    again = cli("moderation", "learn", "--spam", str(spam), "--folds", "0")
    assert "spam: 0 added, 5 duplicate(s) ignored" in again.stdout


def test_learn_ham_relabels(cli, tmp_path):
    f = tmp_path / "s.txt"
    f.write_text("团购接龙今晚八点截止\n", encoding="utf-8")
    cli("moderation", "learn", "--spam", str(f), "--folds", "0")
    result = cli("moderation", "learn", "--ham", str(f), "--folds", "0")
    assert "ham: 0 added, 0 duplicate(s) ignored, 1 relabeled" in result.stdout


@pytest.mark.parametrize("args, message", [((), "give --spam FILE"), (("--spam", "missing.txt"), "no such file")])
def test_learn_bad_input(cli, args, message):
    result = cli("moderation", "learn", *args, ok=False)
    assert result.exit_code == 1 and message in result.stderr


def test_check_with_a_playbook(cli, tmp_path):
    from shequn.playbook.loader import EXAMPLES

    pb = tmp_path / "community.yaml"
    pb.write_text((EXAMPLES / "community.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("moderation", "check", "--shipped", "--playbook", str(pb), "-", input="今天天气不错\n")
    (v,) = verdicts(result.stdout)
    assert v["spam"] is False
    assert "no spam/moderation settings" not in result.stderr  # the example's rules.spam section is read
    # 0.5 <= score < 0.7: spam by default, not under the example's threshold of 0.7
    link = "新人报到 文档见 https://example.org/docs\n"
    (default,) = verdicts(cli("moderation", "check", "--shipped", "-", input=link).stdout)
    (tuned,) = verdicts(cli("moderation", "check", "--shipped", "--playbook", str(pb), "-", input=link).stdout)
    assert default["spam"] is True and tuned["spam"] is False and tuned["score"] == default["score"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("community: x\nnot_a_module: {}\n", encoding="utf-8")
    result = cli("moderation", "check", "--shipped", "--playbook", str(bad), "-", input="hi\n", ok=False)
    assert result.exit_code == 1 and "bad.yaml:2" in result.stderr


def test_spam_section_validates_and_applies():
    from pydantic import ValidationError

    from shequn.moderation.settings import SpamSection

    section = SpamSection.model_validate({"threshold": 0.9, "stop_words": ["团购接龙"], "allow_domains": ["https://www.Python.org/"]})
    detector = Detector.default().with_settings(section.to_settings())
    v = detector.check("团购接龙 docs.python.org/3")
    names = {c.name: c for c in v.checks}
    assert names["stop_words"].spam and not names["links"].spam
    with pytest.raises(ValidationError, match=r"allow_domains\[0\]"):
        SpamSection.model_validate({"allow_domains": ["not a domain"]})
    with pytest.raises(ValidationError, match="threshold"):
        SpamSection.model_validate({"threshold": 0})
