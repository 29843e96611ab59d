"""The detector: named checks, how they combine, member context, hostile input, and the shipped model's quality floor."""

from __future__ import annotations

import json

import numpy as np

from support import shared_data
from shequn.moderation.corpus import read_labeled
from shequn.moderation.detector import CHECK_NAMES, MAX_CHECK_CHARS, Detector, Settings
from shequn.moderation.model import SpamModel
from shequn.moderation.normalize import normalize
from shequn.moderation.train import held_out


def by_name(verdict):
    return {c.name: c for c in verdict.checks}


def test_every_check_is_named_and_explained():
    v = Detector.default().check("加V：abc123 免费领取，详情 www.example.com 电话 138-0013-8000")
    assert [c.name for c in v.checks] == list(CHECK_NAMES)
    checks = by_name(v)
    assert v.spam and 0.5 <= v.score <= 1.0
    assert checks["contacts"].spam and "'加v'" in checks["contacts"].details
    assert checks["links"].spam and "www.example.com" in checks["links"].details
    assert checks["phones"].spam and "138-0013-8000" in checks["phones"].details
    assert checks["stop_words"].spam and "免费领取" in checks["stop_words"].details
    doc = json.loads(json.dumps(v.to_dict(), ensure_ascii=False))
    assert set(doc) == {"spam", "score", "checks"}
    assert all(set(c) == {"name", "spam", "details"} for c in doc["checks"])


def test_normal_messages_are_ham():
    d = Detector.default()
    for text in ["今天天气不错，我们去公园吧", "我用微信支付了", "明天下午三点开会，记得带电脑",
                 "see you at 5pm", "Has anyone tried the new kernel on a ThinkPad?"]:
        v = d.check(text)
        assert not v.spam, (text, v.to_dict())


def test_evidence_alone_catches_an_ad_the_classifier_never_saw():
    v = Detector.default().check("薇信 lily888 一三八〇〇一三八〇〇〇 日结")
    checks = by_name(v)
    assert v.spam
    assert checks["contacts"].spam and checks["phones"].spam and checks["stop_words"].spam


def test_behaviour_new_member_posting_a_link():
    d = Detector.default()
    text = "大家好，看看这个 abc-shop.xyz"
    first = d.check(text, member_context={"message_number": 1})
    veteran = d.check(text, member_context={"message_number": 250})
    assert by_name(first)["behaviour"].spam and "message 1 of a new member posts a link" in by_name(first)["behaviour"].details
    assert not by_name(veteran)["behaviour"].spam
    assert first.score > veteran.score
    joined = d.check(text, member_context={"seconds_since_join": 600})
    assert by_name(joined)["behaviour"].spam
    assert by_name(d.check(text))["behaviour"].details == "no member context"


def test_similarity_to_known_spam_and_settings():
    d = Detector.default()
    # a known zh-sms ad with the shop's name changed
    v = d.check("感谢致电杭州萧山全金釜韩国烧烤店，本店位于金城路xxx号。韩式烧烤等，价格实惠、欢迎惠顾【金城烧烤店】")
    assert by_name(v)["similarity"].spam and "Jaccard" in by_name(v)["similarity"].details
    # allow-listed domains are not evidence; extra stop words are; the threshold moves the decision
    link = "文档在 docs.python.org/3/ 看"
    assert by_name(d.check(link))["links"].spam
    allowed = d.with_settings(Settings(allow_domains=("python.org",))).check(link)
    assert not by_name(allowed)["links"].spam and "allow-listed" in by_name(allowed)["links"].details
    custom = d.with_settings(Settings(stop_words=("团购接龙",))).check("今晚团购接龙开始")
    assert by_name(custom)["stop_words"].spam
    strict = d.with_settings(Settings(threshold=0.01)).check("今天天气不错")
    assert strict.spam == (strict.score >= 0.01)


def test_evasions_score_like_the_plain_ad():
    d = Detector.default()
    plain = d.check("加微信 lily888 领取优惠")
    for evasion in ["加 V 信 lily888 领取优惠", "加ＶＸ lily888 领取优惠", "加v\u200bx lily888 领取优惠",
                    "加薇信 lily888 领取优惠", "加w\u0435\u0456\u0445\u0456n lily888 领取优惠"]:
        v = d.check(evasion)
        assert by_name(v)["contacts"].spam, evasion
        assert v.spam == plain.spam, (evasion, v.to_dict())


def test_huge_and_html_messages():
    d = Detector.default()
    huge = "正常聊天" * 262_144  # 1 M characters
    v = d.check(huge)
    assert f"the first {MAX_CHECK_CHARS:,} were checked" in v.checks[0].details
    html = '<div onclick="x()"><a href="http://evil.example.com">点击领取</a><img src=x onerror=alert(1)></div>'
    v = d.check(html)
    assert by_name(v)["links"].spam and "evil.example.com" in by_name(v)["links"].details
    assert d.check("").spam is False
    assert d.check_many([]) == []


def test_check_many_equals_check():
    d = Detector.default()
    texts = ["今天天气不错", "加V：abc123", "see you at 5pm", "https://t.me/cheap join now"]
    assert [v.to_dict() for v in d.check_many(texts)] == [d.check(t).to_dict() for t in texts]


def test_model_round_trips_through_bytes():
    m = Detector.default().model
    again = SpamModel.from_bytes(m.to_bytes())
    texts = [normalize(t) for t in ["加V：abc123", "今天天气不错"]]
    assert np.allclose(m.log_odds(texts), again.log_odds(texts), atol=1e-6)


def test_shipped_model_floor_on_a_held_out_slice():
    """The shipped model never trained on the 10% slice ``train.held_out`` picks (nor is its spam "known"), so this is
    the shipped detector on unseen messages of each shared set."""
    d = Detector.default()
    known = set(d.known_spam.samples)
    for name, f1_floor, fpr_ceiling in (("zh-sms", 0.90, 0.01), ("sms-en", 0.85, 0.01), ("tg-spam", 0.6, 0.15)):
        # tg-spam is small (28 held-out ham) and Russian; its ham includes bare t.me invites and links, which the
        # links check counts as evidence: its ceiling is looser (see docs/moderation.md, "weak spots")
        samples = read_labeled(shared_data("spam", name, "labeled.tsv"))
        held = {}
        for s in samples:
            t = normalize(s.text)
            if held_out(t):
                held.setdefault(t, s.spam)
        assert held and not known & set(held), name
        y = np.array(list(held.values()))
        pred = np.array([v.spam for v in d.check_many(list(held))])
        tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
        f1 = 2 * tp / (2 * tp + fp + fn)
        assert f1 >= f1_floor, (name, f1)
        assert fp / (~y).sum() <= fpr_ceiling, (name, fp)
