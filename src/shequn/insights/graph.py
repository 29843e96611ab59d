"""Reply graph and key members: who the conversation flows through.

Edges come from ``shequn.insights.interactions`` (replies — explicit or inferred — and mentions):
member A -> member B with weight = how many times A replied to or addressed B. On that graph:

- ``pagerank``: weighted PageRank (damping 0.85) — high for members many others answer to;
- ``betweenness``: betweenness centrality on the undirected, unweighted graph (bridges between
  circles of people), computed by igraph: exact on graphs of usual size, otherwise approximated from
  ``k`` sampled sources with a fixed seed (so it is reproducible; see ``_betweenness``);
- KOL (意见领袖) list: the ``top`` members by PageRank among those at least ``min_repliers``
  distinct members replied to / addressed, each with its reason in words.

:func:`absence_factor` is the contributor absence factor (CHAOSS "bus factor" for chat): the fewest
members who together sent half of the human messages.
"""

from __future__ import annotations

import networkx as nx
import polars as pl

from shequn.insights.presence import human_messages

SCHEMA = {"member_id": pl.Int64, "pagerank": pl.Float64, "betweenness": pl.Float64, "in_weight": pl.Int64,
          "out_weight": pl.Int64, "repliers": pl.Int64}


def reply_graph(interactions: pl.DataFrame) -> nx.DiGraph:
    """Directed graph member -> target member, ``weight`` = number of replies/mentions."""
    g = nx.DiGraph()
    # sorted: Polars groups come out in any order, and the sampled betweenness draws its sources from
    # the node order, so only a fixed order makes the fixed seed reproducible
    edges = interactions.group_by("member_id", "target_member_id").agg(pl.len().alias("weight")).sort("member_id", "target_member_id")
    g.add_weighted_edges_from(edges.iter_rows())
    return g


def centrality(interactions: pl.DataFrame, *, members=None, k: int = 500, exact_limit: int = 1000, seed: int = 0,
               budget: int = 5_000_000) -> pl.DataFrame:
    """One row per member in the graph (``SCHEMA``), by PageRank descending.

    ``members``: ids to include even without an edge (e.g. everyone who spoke in the period). A member
    nobody answered and who answered nobody (one person talking alone) then gets a defined PageRank
    (the teleport share: 1.0 when alone) and betweenness 0, instead of being left out. Isolated
    members scale every PageRank by the same factor, so the ranking is unchanged; betweenness is
    normalised over the members with at least one edge (the pairs that can be connected at all).

    Sampled betweenness visits about ``k * edges`` edges, so on big graphs ``k`` is lowered to keep
    that under ``budget`` (never below 16 sources): a bounded cost whatever the community's size.
    """
    g = reply_graph(interactions)
    if members is not None:
        g.add_nodes_from(int(m) for m in members)
    if g.number_of_nodes() == 0:
        return pl.DataFrame(schema=SCHEMA)
    pr = nx.pagerank(g, weight="weight")
    bt = _betweenness(g, k=k, exact_limit=exact_limit, seed=seed, budget=budget)
    rows = [
        (node, pr[node], bt.get(node, 0.0), int(g.in_degree(node, weight="weight")), int(g.out_degree(node, weight="weight")),
         g.in_degree(node))
        for node in g.nodes
    ]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row").with_columns(
        pl.col("pagerank").round(6), pl.col("betweenness").round(6)
    ).sort(["pagerank", "member_id"], descending=[True, False])


def _betweenness(g: nx.DiGraph, *, k: int, exact_limit: int, seed: int, budget: int) -> dict[int, float]:
    """Normalised betweenness on the undirected, unweighted graph of the members with an edge.

    Computed by igraph (C): exact while ``nodes x edges`` stays within ``budget`` x 10 (a few thousand
    members a month: exact costs less than networkx's 64-source sample did) or the graph has at most
    ``exact_limit`` members; beyond that from ``k`` sources drawn with a fixed seed (at least 16, fewer
    on huge graphs so that ``k x edges`` stays within ``budget``), scaled by n / k as networkx does.
    Normalised as networkx does for undirected graphs: by (n - 1)(n - 2) / 2.
    """
    import random

    import igraph as ig

    linked = sorted(v for v in g if g.degree(v) > 0)
    n = len(linked)
    if n == 0:
        return {}
    index = {v: i for i, v in enumerate(linked)}
    pairs = {(min(index[a], index[b]), max(index[a], index[b])) for a, b in g.edges() if a != b}
    und = ig.Graph(n=n, edges=sorted(pairs), directed=False)
    m = max(1, und.ecount())
    if n <= exact_limit or n * m <= budget * 10:
        raw, scale = und.betweenness(directed=False), 1.0
    else:
        k = min(n, max(16, min(k, budget // m)))
        sources = sorted(random.Random(seed).sample(range(n), k))
        raw, scale = und.betweenness(directed=False, sources=sources, targets=None), n / k
    norm = 2.0 / ((n - 1) * (n - 2)) if n > 2 else 1.0
    return {linked[i]: b * scale * norm for i, b in enumerate(raw)}


def key_members(central: pl.DataFrame, *, top: int = 10, min_repliers: int = 2) -> pl.DataFrame:
    """The KOL list: ``centrality`` rows plus ``rank`` and ``reason`` / ``reason_zh``."""
    kol = central.filter(pl.col("repliers") >= min_repliers).head(top).with_row_index("rank", offset=1)
    return kol.with_columns(
        pl.format("{} members replied to or addressed them {} times; PageRank {}", "repliers", "in_weight", "pagerank").alias("reason"),
        pl.format("{} 位成员回复或提及 TA 共 {} 次；PageRank {}", "repliers", "in_weight", "pagerank").alias("reason_zh"),
    )


def absence_factor(frame: pl.DataFrame, *, as_of_ms: int | None = None) -> dict:
    """``{"absence_factor": n, "members": [ids], "messages": total}``: fewest members sending >= 50% of messages.

    ``absence_factor`` is 0 when there are no human messages.
    """
    counts = (human_messages(frame, until_ms=as_of_ms).group_by(pl.col("member_id").cast(pl.Int64))
              .agg(pl.len().alias("n")).sort(["n", "member_id"], descending=[True, False]))
    total = int(counts["n"].sum()) if counts.height else 0
    taken, acc = [], 0
    for mid, n in counts.iter_rows():
        if acc * 2 >= total:
            break
        taken.append(mid)
        acc += n
    return {"absence_factor": len(taken), "members": taken, "messages": total}
