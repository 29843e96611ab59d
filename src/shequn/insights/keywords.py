"""Top keywords per period (热词): what each week was about, against the whole period's background.

A term's score in week p compares how often it is used that week with how often it is used in the
background (an even sample of the whole history up to the period's end), messages as documents:

    p_t = messages of week p containing t / messages of week p
    q_t = (background messages containing t + 1) / (background messages + 1)
    score = p_t * ln(p_t / q_t)          (kept only when p_t > q_t)

This is TF-IDF's idea (frequent here, rarer elsewhere) in its relative-entropy form: a word that is
common everywhere ("ubuntu" in #ubuntu, 老师 in a course group) has p_t close to q_t and scores
near zero, while the week's own topics rise. A term must appear in at least ``min_messages``
messages of the week.

Tokens: Chinese runs are segmented with jieba (words of 2+ characters); Latin-script words are
lower-cased (3+ characters, letters first, may contain digits, ``+ # _ -``), minus a stop list.
Members' names are left out (chat addresses people by name all the time). Before tokenizing, URLs, HTML tags, zero-width characters and the IRC-style leading addressee
(``nick: ...``) are removed and each message is cut to 2,000 characters, so a pasted log or a
hostile wall of text cannot dominate. Latin tokenizing runs inside Polars; only messages that hold
Chinese characters go through jieba. The background is a sample (blocks of consecutive messages) of at most
``BACKGROUND_SAMPLE`` messages, and a week with more than ``PERIOD_SAMPLE`` messages is tokenized
from an even sample of that many (proportions are what matter; counts are scaled back).
"""

from __future__ import annotations

import math

import polars as pl

BACKGROUND_SAMPLE = 200_000
#: bump when tokenizing changes: cached background counts (``summary._background``) carry it in their name
TOKENS_VERSION = 1
PERIOD_SAMPLE = 50_000  # messages per week tokenized at most (an even sample beyond that)
MAX_CHARS = 2_000

EN_STOP = frozenset("""
a about above after again against all also am an and any anybody anyone anything are aren't around as at be because
been before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't done
down during each else even ever every few for from further get gets getting go goes going gone got gotta had hadn't has
hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how how's however i i'd i'll
i'm i've if in into is isn't it it's its itself just know let let's like lol maybe me might more most much must my
myself need no nope nor not nothing now of off oh ok okay on once one only or other ought our ours ourselves out over
own please pretty probably put quite rather really right said same say says see seems shall she she'd she'll she's
should shouldn't since so some someone something still such sure than thank thanks that that's the their theirs them
themselves then there there's these they they'd they'll they're they've thing things think this those though through
thx to too try trying under until up upon us use used using very want wants was wasn't way we we'd we'll we're we've
well were weren't what what's whatever when when's where where's whether which while who who's whom why why's will
with won't would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself yourselves yep hey hi hello
""".split())

ZH_STOP = frozenset("""
的 了 是 我 你 他 她 它 们 这 那 就 都 也 还 在 有 和 吗 吧 啊 呢 哦 嗯 一个 没有 什么 怎么 可以 我们 你们 他们 这个 那个
就是 还是 不是 因为 所以 如果 但是 然后 现在 知道 觉得 大家 哈哈 哈哈哈 一下 一些 这样 那样 这么 那么 自己 已经 应该 可能
不会 不能 需要 时候 还有 只是 真的 其实 一样 没事 好的 谢谢 请问 有没有 是不是 为什么 怎么样 怎么办
""".split())

_CLEAN = r"https?://\S+|www\.\S+|<[^>]{0,200}>"
_INVISIBLE = r"[\u200b-\u200f\u2060\ufeff\u00ad]"  # zero-width and soft hyphen: removed, so "gr\u200bub" is "grub"
_ADDRESSEE = r"^[^\s:,]{1,40}[:,]\s"
_LATIN = r"[a-z][a-z0-9+#_\-]*[a-z0-9+#]"
_CJK = r"[\u4e00-\u9fff]"


def _clean(texts: pl.DataFrame) -> pl.DataFrame:
    return texts.select(
        "id",
        pl.col("text").str.slice(0, MAX_CHARS).str.replace_all(_INVISIBLE, "").str.replace_all(_CLEAN, " ").str.replace(_ADDRESSEE, "").alias("text"),
    )


def has_chinese(texts: pl.DataFrame) -> bool:
    """Whether any of ``texts`` (column ``text``) holds a CJK character, i.e. ``tokens`` will need jieba."""
    return texts.height > 0 and bool(texts.select(pl.col("text").str.contains(_CJK).any()).item())


def warm_up() -> None:
    """Load jieba's dictionary (about half a second) ahead of ``tokens``.

    Why: a caller that knows Chinese text is coming starts this in a thread while it computes other
    sections in Polars (which releases the GIL); jieba's own lock makes ``tokens`` wait if it is not done.
    """
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()


def tokens(texts: pl.DataFrame, exclude: frozenset[str] | set[str] = frozenset()) -> pl.DataFrame:
    """``id, term``: each distinct term of each message (``texts`` has ``id, text``), minus ``exclude``."""
    clean = _clean(texts)
    latin = (
        clean.select("id", pl.col("text").str.to_lowercase().str.extract_all(_LATIN).alias("term"))
        .explode("term")
        .filter(pl.col("term").is_not_null() & (pl.col("term").str.len_chars() >= 3) & ~pl.col("term").is_in(list(EN_STOP)))
    )
    chinese = clean.filter(pl.col("text").str.contains(_CJK))
    parts = [latin]
    if chinese.height:
        import jieba

        jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
        ids, terms = [], []
        for mid, text in chinese.iter_rows():
            for word in set(jieba.lcut(text)):
                if len(word) >= 2 and word not in ZH_STOP and all("\u4e00" <= ch <= "\u9fff" for ch in word):
                    ids.append(mid)
                    terms.append(word)
        parts.append(pl.DataFrame({"id": ids, "term": terms}, schema={"id": pl.Int64, "term": pl.String}))
    out = pl.concat([p.select(pl.col("id").cast(pl.Int64), pl.col("term").cast(pl.String)) for p in parts]).unique()
    return out.filter(~pl.col("term").is_in(list(exclude))) if exclude else out


def _score(tf: pl.DataFrame, n_p: int, bg: pl.DataFrame, n_bg: int, top: int, min_messages: int) -> list[dict]:
    """``tf``: term, messages (in the period); ``bg``: term, bg (in the background)."""
    tf = tf.filter(pl.col("messages") >= min_messages)
    if n_p == 0 or tf.is_empty():
        return []
    p = pl.col("messages") / n_p
    q = (pl.col("bg") + 1) / (n_bg + 1)
    scored = (tf.join(bg, on="term", how="left").with_columns(pl.col("bg").fill_null(0))
              .with_columns((p * (p / q).log(math.e)).alias("score")).filter(pl.col("score") > 0))
    best = scored.sort(["score", "messages", "term"], descending=[True, True, False]).head(top)
    return [{"term": t, "messages": int(m), "score": round(float(s), 4)} for t, m, s in best.select("term", "messages", "score").iter_rows()]


def _counts(texts: pl.DataFrame, exclude) -> pl.DataFrame:
    return tokens(texts, exclude).group_by("term").agg(pl.len().alias("n"))


def document_counts(texts: pl.DataFrame) -> pl.DataFrame:
    """``term, n``: in how many of ``texts`` (``id, text``) each term occurs, nothing excluded.

    Counts of disjoint sets of messages add up, so a background can be counted in cached pieces.
    """
    return _counts(texts, frozenset()).with_columns(pl.col("n").cast(pl.Int64))


def top_keywords(period_texts: pl.DataFrame, background: pl.DataFrame, *, top: int = 10, min_messages: int = 3,
                 exclude: frozenset[str] | set[str] = frozenset()) -> list[dict]:
    """Top ``top`` terms of ``period_texts`` scored against ``background`` (both ``id, text``): term, messages, score."""
    tf = _counts(period_texts, exclude).rename({"n": "messages"})
    bg = _counts(background, exclude).rename({"n": "bg"})
    return _score(tf, period_texts.height, bg, background.height, top, min_messages)


def keywords_by_period(texts: pl.DataFrame, background: pl.DataFrame | tuple[pl.DataFrame, int], *, as_of_ms: int,
                       tz: str, periods: int = 4, period_days: int = 7, top: int = 10, min_messages: int = 3,
                       exclude: frozenset[str] | set[str] = frozenset()) -> list[dict]:
    """Per period of ``period_days`` local days counted back from ``as_of`` (newest first):
    ``{"start", "end" (exclusive, local dates), "messages", "keywords": [...]}``.

    ``background``: its messages (``id, text``), or already counted: ``(document_counts(...), messages)``.
    ``exclude``: lower-cased terms never to show, e.g. members' names (chat is full of "nick: ...").
    Every message is tokenized once, the background too.
    """
    from shequn.insights.presence import day_to_date, local_day, local_day_expr

    today = local_day(as_of_ms - 1, tz)
    t = (texts.filter(pl.col("at_ms") < as_of_ms)
         .with_columns(((today - local_day_expr(tz)) // period_days).alias("p"))
         .filter(pl.col("p") < periods))
    sizes = dict(t.group_by("p").agg(pl.len()).iter_rows())
    # a very busy week is tokenized from an even sample (proportions are what the score needs)
    t = t.filter(pl.int_range(pl.len()).over("p") % (pl.len().over("p") // PERIOD_SAMPLE + 1) == 0)
    sampled = dict(t.group_by("p").agg(pl.len()).iter_rows())
    terms = tokens(t.select("id", "text"), exclude).join(t.select("id", "p"), on="id")
    tf_all = terms.group_by("p", "term").agg(pl.len().alias("messages"))
    if isinstance(background, tuple):
        counts, n_bg = background
        bg = (counts.filter(~pl.col("term").is_in(list(exclude))) if exclude else counts).rename({"n": "bg"})
    else:
        bg, n_bg = _counts(background, exclude).rename({"n": "bg"}), background.height
    out = []
    for p in range(periods):
        n_p, n_s = int(sizes.get(p, 0)), int(sampled.get(p, 0))
        words = _score(tf_all.filter(pl.col("p") == p).drop("p"), n_s, bg, n_bg, top, min_messages)
        if n_s and n_s < n_p:  # counts from a sample, scaled back to the whole week
            words = [{**w, "messages": round(w["messages"] * n_p / n_s)} for w in words]
        out.append({
            "start": day_to_date(today - period_days * p - period_days + 1).isoformat(),
            "end": day_to_date(today - period_days * p + 1).isoformat(),
            "messages": n_p,
            "keywords": words,
        })
    return out
