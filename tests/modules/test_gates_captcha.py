"""Captcha gate: a deterministic sum on join, answered within the time limit, or removal."""

from __future__ import annotations

from shequn.modules.gates.captcha import challenge

from modules.conftest import MIN, kinds

PLAYBOOK = "gates:\n  captcha:\n    within: 5m\n    attempts: 2\n"


def _question(run, member: int) -> tuple[str, int]:
    return challenge(1, member, run.group_id("g1"), run.now)


def test_the_right_answer_passes_and_the_challenge_is_reproducible(make_run):
    run = make_run(PLAYBOOK)
    [ask] = run.send(None, kind="join", member=3, name="Neo")
    question, answer = _question(run, 3)
    assert question in ask.payload["text"] and ask.payload["text"].startswith("Neo，请在 5 minutes 内回复答案")
    assert challenge(1, 3, run.group_id("g1"), run.now) == (question, answer)  # same member, same join: same question
    [held] = run.later(MIN).send("hi all", member=3)  # no number: held back until answered
    assert held.kind.value == "delete" and held.reason == "messages wait until the captcha is answered"
    assert run.later(MIN).send(str(answer).translate(str.maketrans("0123456789", "０１２３４５６７８９")), member=3) == []  # full-width digits
    assert run.tick(run.now + 10 * MIN) == []
    assert run.send("now I can talk", member=3) == []
    assert run.summary()[3]["gates"] == {"captcha": "passed: answered"}


def test_wrong_answers_and_timeouts_remove(make_run):
    run = make_run(PLAYBOOK)
    run.send(None, kind="join", member=4)
    _, answer = _question(run, 4)
    assert kinds(run.later(MIN).send(str(answer + 1), member=4)) == ["delete"]
    [kick] = run.later(MIN).send(str(answer + 2), member=4)
    assert kick.kind.value == "kick" and kick.reason == "answered the captcha wrong 2 times"
    run.send(None, kind="join", member=5)
    [late] = run.tick(run.now + 5 * MIN)
    assert late.member_id == 5 and late.reason == "did not answer the captcha within 5 minutes"


def test_captcha_comes_before_the_introduction(make_run):
    run = make_run(PLAYBOOK + "  intro:\n    within: 1h\n")
    run.send(None, kind="join", member=6)
    _, answer = _question(run, 6)
    run.later(MIN).send(f"答案 {answer}", member=6)
    assert kinds(run.later(MIN).send("小六-杭州-学生", member=6)) == ["tag", "tag", "tag"]
    assert run.tick(run.now + 2 * 60 * MIN) == []
