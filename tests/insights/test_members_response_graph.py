"""Response time to questions, reply graph centrality, KOLs and the absence factor, on hand-made histories."""

from __future__ import annotations

import polars as pl
import pytest

from member_frames import frame, ms
from shequn.insights.graph import absence_factor, centrality, key_members
from shequn.insights.interactions import interactions
from shequn.insights.response import first_responses, is_question, response_summary

EMPTY = frame([])


@pytest.mark.parametrize("text,expected", [
    ("how do I mount a usb disk", True), ("这个怎么安装", True), ("有人知道吗", True), ("anyone using xfce?", True),
    ("如何配置代理？", True), ("thanks, works now", False), ("好的收到", False), ("", False), (None, False),
    ("<b>why</b> does apt fail", False), ("why\u200b does apt fail", True),
])
def test_question_cues(text, expected):
    # HTML-wrapped first word is not a bare cue word; zero-width characters are removed before matching
    assert is_question(text) is expected


def history():
    return frame([
        {"id": 1, "member": 1, "at": "2024-06-01 10:00", "text": "how do I mount a usb disk?"},
        {"id": 2, "member": 1, "at": "2024-06-01 10:01", "text": "hello?", "reply_to": 1},  # own follow-up: not an answer
        {"id": 3, "member": 2, "at": "2024-06-01 10:05", "text": "use udisksctl", "reply_to": 1},  # answer after 300 s
        {"id": 4, "member": 3, "at": "2024-06-01 11:00", "text": "这个群怎么报名？"},
        {"id": 5, "member": 2, "at": "2024-06-01 13:00", "text": "看公告", "to": 3},         # mention answer after 7200 s
        {"id": 6, "member": 4, "at": "2024-06-02 09:00", "text": "anyone here?"},          # unanswered
        {"id": 7, "member": 9, "at": "2024-06-02 09:01", "text": "bot reply", "reply_to": 6, "bot": True},  # bots don't answer
        {"id": 8, "member": 1, "at": "2024-06-03 09:00", "text": "is <script>alert(1)</script> safe?"},  # answered after 2 days
        {"id": 9, "member": 3, "at": "2024-06-05 09:00", "text": "yes", "reply_to": 8},
        {"id": 10, "member": 3, "at": "2024-06-05 10:00", "text": "ok then", "reply_to": 3},  # not a question
    ])


def test_first_responses_and_summary():
    f = history()
    r = first_responses(f, interactions(f))
    got = {row["question_id"]: (row["answer_id"], row["answerer"], row["response_s"]) for row in r.iter_rows(named=True)}
    assert got == {1: (3, 2, 300.0), 4: (5, 2, 7200.0), 6: (None, None, None), 8: (9, 3, 172800.0)}
    s = response_summary(r, as_of_ms=ms("2024-06-10 00:00"))
    assert (s["questions"], s["answered"], s["median_s"], s["p90_s"]) == (4, 3, 7200.0, 172800.0)
    assert s["answered_24h_share"] == 0.5 and s["eligible_24h"] == 4  # 2 of 4 within 24 h
    assert [u["id"] for u in s["unanswered"]] == [6] and s["unanswered"][0]["text"] == "anyone here?"
    # a question younger than 24 h is not held against the 24 h share, and answers after as_of don't count
    early = response_summary(r, as_of_ms=ms("2024-06-04 00:00"))
    assert (early["questions"], early["answered"], early["eligible_24h"], early["answered_24h_share"]) == (4, 2, 3, round(2 / 3, 4))


def test_mention_answer_must_precede_askers_next_question():
    f = frame([
        {"id": 1, "member": 1, "at": "2024-06-01 10:00", "text": "what is snap?"},
        {"id": 2, "member": 1, "at": "2024-06-01 12:00", "text": "why is it slow?"},
        {"id": 3, "member": 2, "at": "2024-06-01 12:30", "text": "because squashfs", "to": 1},
    ])
    r = first_responses(f, interactions(f))
    assert r.select("question_id", "answer_id").rows() == [(1, None), (2, 3)]


def test_response_needs_text_and_handles_empty():
    with pytest.raises(ValueError, match="with_text"):
        first_responses(EMPTY.drop("text"), interactions(EMPTY))
    s = response_summary(first_responses(EMPTY, interactions(EMPTY)), as_of_ms=0)
    assert (s["questions"], s["median_s"], s["answered_24h_share"], s["unanswered"]) == (0, None, None, [])


def test_inferred_replies_frame_replaces_explicit_links():
    f = frame([
        {"id": 1, "member": 1, "at": "2024-06-01 10:00", "text": "how to boot from usb"},
        {"id": 2, "member": 2, "at": "2024-06-01 10:02", "text": "press F12"},
    ])
    replies = pl.DataFrame({"group_id": [1], "platform_id": ["2"], "parent": ["1"]})
    r = first_responses(f, interactions(f, replies))
    assert r.select("question_id", "answer_id", "response_s").rows() == [(1, 2, 120.0)]


def test_centrality_kols_and_absence_factor():
    # a star: 2, 3, 4 and 5 all reply to 1; 1 replies to 2 once
    rows = [{"id": 1, "member": 1, "at": "2024-06-01 10:00"}]
    for n, m in enumerate((2, 3, 4, 5), start=2):
        rows.append({"id": n, "member": m, "at": f"2024-06-01 10:0{n}", "reply_to": 1})
    rows.append({"id": 6, "member": 1, "at": "2024-06-01 10:09", "reply_to": 2})
    f = frame(rows)
    c = centrality(interactions(f))
    top = c.row(0, named=True)
    assert top["member_id"] == 1 and top["repliers"] == 4 and top["in_weight"] == 4
    assert top["betweenness"] == pytest.approx(1.0)  # every path between the others goes through 1
    k = key_members(c)
    assert k["member_id"].to_list() == [1]  # nobody else has 2 distinct repliers
    assert k["reason"][0].startswith("4 members replied to or addressed them 4 times")
    # approximate betweenness with sampling gives the same hub
    assert centrality(interactions(f), exact_limit=2, k=3)["member_id"][0] == 1
    a = absence_factor(f)
    # member 1 sent 2 of 6 (33%); the next, member 2 (tie broken by id), brings it to 3 of 6 = half
    assert a == {"absence_factor": 2, "members": [1, 2], "messages": 6}
    assert absence_factor(EMPTY) == {"absence_factor": 0, "members": [], "messages": 0}
    assert centrality(interactions(EMPTY)).is_empty()


def test_mentions_by_name_resolve_through_member_names():
    # load_frame gives the addressee as a name; homoglyph-free fullwidth and case variants normalise alike
    f = frame([
        {"id": 1, "member": 1, "at": "2024-06-01 10:00", "text": "how do I install vim?"},
        {"id": 2, "member": 2, "at": "2024-06-01 10:03", "text": "Ｂｏｂ: apt install vim", "to": "Ｂｏｂ"},
        {"id": 3, "member": 2, "at": "2024-06-01 10:04", "text": "ghost: hi", "to": "ghost"},  # unknown name: no edge
        {"id": 4, "member": 2, "at": "2024-06-01 10:05", "text": "twin: hi", "to": "twin"},    # ambiguous name: no edge
    ])
    # "twin" is two members who both speak in the group (ambiguous); "ghost" never spoke here
    names = pl.DataFrame({"name": ["bob", "ghost", "twin", "twin"], "member_id": [1, 7, 1, 2]})
    inter = interactions(f, names=names)
    assert inter.select("id", "target_member_id", "via").rows() == [(2, 1, "mention")]
    assert first_responses(f, inter).select("question_id", "answer_id").rows() == [(1, 2)]
    assert interactions(f).is_empty()  # names not given: a name cannot be resolved
    # a name shared across groups resolves to the member who speaks in the mention's group
    g = frame([
        {"id": 1, "member": 1, "at": "2024-06-01 10:00", "group": 1}, {"id": 2, "member": 5, "at": "2024-06-01 10:00", "group": 2},
        {"id": 3, "member": 2, "at": "2024-06-01 10:01", "group": 2, "to": "sam"},
    ])
    same = pl.DataFrame({"name": ["sam", "sam"], "member_id": [1, 5]})
    assert interactions(g, names=same).select("id", "target_member_id").rows() == [(3, 5)]


def test_vectorised_question_cues_agree_with_the_scalar_ones():
    from shequn.insights.response import question_expr

    texts = ["how do I mount a usb disk", "这个怎么安装", "有人知道吗", "anyone using xfce?", "thanks, works now", "好的收到", "",
             None, "<b>why</b> does apt fail", "why\u200b does apt fail", "  What: now", "Ｗｈｙ？", "x" * 5000 + "?",
             "is it ok", "this is fine", "谢谢"]
    got = pl.DataFrame({"text": texts}, schema={"text": pl.Utf8}).select(question_expr())["text"].to_list()
    assert got == [is_question(t) for t in texts]



def test_one_member_group_answers_nobody_and_is_its_own_absence_factor():
    f = frame([
        {"id": 1, "member": 1, "at": "2024-06-01 10:00", "text": "怎么退订？"},
        {"id": 2, "member": 1, "at": "2024-06-01 10:05", "text": "找到了", "reply_to": 1},  # answering yourself is no answer
    ])
    inter = interactions(f)
    assert inter.is_empty() and centrality(inter).is_empty()
    s = response_summary(first_responses(f, inter), as_of_ms=ms("2024-06-03 00:00"))
    assert (s["questions"], s["answered"], s["answered_24h_share"]) == (1, 0, 0.0)
    assert absence_factor(f) == {"absence_factor": 1, "members": [1], "messages": 2}
