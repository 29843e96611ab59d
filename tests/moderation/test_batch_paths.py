"""The batch paths (what Detector.check_many runs, in numpy over the whole batch) give exactly what the per-message
functions give: normalize_many, find_many, the stop-word pre-check, the similarity index with and without scipy,
the chunked classifier sum. Inputs: the shipped corpus and seeded random strings built from the pieces the finders
and normalization look for."""

from __future__ import annotations

import random

import numpy as np
import pytest

from shequn.moderation import features, patterns
from shequn.moderation.detector import Detector, Settings, shipped_corpus
from shequn.moderation.normalize import _T2S, normalize, normalize_many
from shequn.moderation.patterns import (
    find_contact_handles,
    find_links,
    find_many,
    find_phones,
)

PIECES = (list("0123456789０１２３〇零一二三四五六七八九幺壹两+-.·_/() \t\n:：=是为号信芯心@!?,，。！？【】（）xa中")
          + ["加", "微信", "薇信", "vx", "ＶＸ", "wx", "qq", "扣扣", "tg", "telegram", "whatsapp", "line", "wei", "dm me",
             "add me on", "私聊", "联系方式", "пишите в лс", "тг", "@abcd1", "lily888", "a@b.cn", "www.", "https://", "t.me/",
             "example", ".com", ".xyz", " dot ", "点", "(dot)", "138", "1380013", "8000", "400", "800", "010-", "(0571)",
             "+86", "0086", "\u200b", "\ufeff", "\u00ad", "е", "і", "х", "ⓥ", "𝐯", "ṽ", "é", "e\u0301", "ß", "ﬁ", "①",
             "薇信號碼", "代開發票", "免费领取", "日结", "刷单", "click here", "claim your", "пассивный доход", "打坏",
             "乾燥", "привет", "wеіхіn", "Ｖ\u3000Ｘ", "w e i x i n", "v x", "a b.", "😀", "👍🏻", "\U000e0041", "١٣٨",
             "…", "“", "”", "\u3000", "\xa0", "\u2028", "\r", "  ", "Å", "\u0345", "ᾳ", "𠀀", "\U0001D165", "ǅ"])


def _fuzz(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 18))) for _ in range(n)]


@pytest.fixture(scope="module")
def raw_texts() -> list[str]:
    corpus = [t for t, _ in shipped_corpus()]
    return corpus[::7] + _fuzz(4000, seed=20261203) + ["", " ", "\u200b", "长" * 2500, "v x " * 800]


def _batches(texts, size):
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def test_normalize_many_is_normalize(raw_texts):
    expected = [normalize(t) for t in raw_texts]
    for size in (5, 16, 500):
        assert [n for b in _batches(raw_texts, size) for n in normalize_many(b)] == expected, size


def test_find_many_is_the_finders(raw_texts):
    texts = [normalize(t) for t in raw_texts]
    expected = ([find_links(t, normalized=True) for t in texts], [find_phones(t, normalized=True) for t in texts],
                [find_contact_handles(t, normalized=True) for t in texts])
    for size in (5, 300):
        got = ([], [], [])
        for b in _batches(texts, size):
            for into, found in zip(got, find_many(b), strict=True):
                into.extend(found)
        assert got == expected, size


def test_handle_hint_is_its_regex(raw_texts):
    for t in [normalize(t) for t in raw_texts]:
        assert patterns._handle_hint(t) == bool(patterns._HANDLE_HINT.search(t)), t


def test_t2s_leaves_every_character_below_u2e80_alone():
    """normalize() skips OpenCC for texts without a character from U+2E80 up (normalize._MAYBE_TRADITIONAL)."""
    chars = [chr(c) for c in range(0x2E80) if not 0xD800 <= c <= 0xDFFF and c != 0x2063]
    assert _T2S.convert("\u2063".join(chars)).split("\u2063") == chars


def test_dot_sums_in_chunks_exactly():
    weights = Detector.default().model.weights
    assert features.sums_exact(weights)  # the shipped model stores float16 weights
    texts = [t for t, _ in shipped_corpus()][:3000] + ["", "a", "长" * 2500]
    assert np.array_equal(features.dot(texts, weights, any_order=True), features._dot_in_order(texts, weights))


def test_similarity_with_and_without_scipy():
    index = Detector.default().known_spam
    texts = [t for t, _ in shipped_corpus()][::5] + [t[: len(t) // 2] for t in index.samples]  # ties among samples too
    big = index.nearest_scores(texts, quote_from=0.5)  # chunks through a sparse product
    small = ([], [])
    for b in _batches(texts, 7):  # a few at a time: without scipy
        j, s = index.nearest_scores(b, quote_from=0.5)
        small[0].extend(j)
        small[1].extend(s)
    assert small == big


def test_check_many_is_check(raw_texts):
    d = Detector.default().with_settings(Settings(allow_domains=("t.me",), stop_words=("团购接龙",)))
    texts = raw_texts[::9]
    contexts = [{"message_number": i % 5} if i % 3 else None for i in range(len(texts))]
    batch = [v.to_dict() for v in d.check_many(texts, contexts)]
    assert batch == [d.check(t, member_context=c).to_dict() for t, c in zip(texts, contexts, strict=True)]


def test_empty_texts_inside_a_batch():
    """An empty (or all-invisible) message after the first used to crash the batched classifier."""
    d = Detector.default()
    texts = ["hi", "", "\u200b", "加V：abc123"] * 5
    assert [v.to_dict() for v in d.check_many(texts)] == [d.check(t).to_dict() for t in texts]
