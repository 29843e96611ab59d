"""From insights documents to what the templates show: formatted figures, deltas, charts.

Everything here is presentation: it picks fields of ``build_insights`` documents, formats them,
compares this week with last week (differences of two documents) and hands plain lists to
:mod:`shequn.insights.report.charts`. Binning first-response times into bars is the only shaping
of data, and it is the chart's job (the times themselves come from ``insights.response``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from shequn.insights.report import charts
from shequn.insights.report.data import Overview, Weekly

#: response-time bars: upper bound in seconds, label (language-neutral units: s, m, h)
RESPONSE_BINS = ((60, "≤1m"), (300, "≤5m"), (900, "≤15m"), (3600, "≤1h"), (4 * 3600, "≤4h"), (86400, "≤24h"))
TIERS = ("core", "active", "casual", "lurker")
HEALTH_KEYS = ("growth", "retention", "activity", "response_rate", "absence_factor")
KEY_MEMBER_COLS = ("rank", "pagerank", "betweenness", "repliers")
NO_VALUE = "—"


# --- formatting -------------------------------------------------------------------------------------------

def num(v) -> str:
    if v is None:
        return NO_VALUE
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{int(v):,}"


def pct(v) -> str:
    return NO_VALUE if v is None else f"{v * 100:.1f}%"


def duration(seconds) -> str:
    """Seconds as a short, language-neutral duration: 45s, 12m, 3.5h, 2.1d."""
    if seconds is None:
        return NO_VALUE
    s = float(seconds)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s / 60:.0f}m"
    if s < 86400:
        return f"{s / 3600:.1f}h".replace(".0h", "h")
    return f"{s / 86400:.1f}d".replace(".0d", "d")


def signed(v) -> str:
    return NO_VALUE if v is None else f"{v:+,}"


FORMATS = {"int": num, "pct": pct, "duration": duration, "float": num}


def delta(this, last, *, kind: str = "int", better: str = "up") -> dict | None:
    """Change from last week: arrow, text and tone (``good`` / ``bad`` / ``flat``; ``better`` says which way is good)."""
    if this is None or last is None:
        return None
    diff = this - last
    if diff == 0:
        return {"arrow": "■", "text": "±0", "direction": "flat"}
    arrow = "▲" if diff > 0 else "▼"
    if kind == "pct":
        text = f"{diff * 100:+.1f} pt"
    elif kind == "duration":
        text = ("+" if diff > 0 else "-") + duration(abs(diff))
    else:
        text = f"{diff:+,.2f}".rstrip("0").rstrip(".") if isinstance(diff, float) and not float(diff).is_integer() else f"{int(diff):+,}"
    if kind != "pct" and last:
        text += f" ({diff / abs(last) * 100:+.0f}%)"
    good = (diff > 0) == (better == "up")
    return {"arrow": arrow, "text": text, "direction": "neutral" if better == "none" else ("up" if good else "down")}


def _local(ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _day(iso: str | None, tz: str) -> str:
    if not iso:
        return NO_VALUE
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


# --- pieces of a document -----------------------------------------------------------------------------------

def _m(doc: dict) -> dict:
    return doc.get("members") or {}


def kpi_values(doc: dict) -> dict:
    """The headline figures of one document, by catalog key: (raw value, format kind, which way is good)."""
    a = doc["actives"]
    m = _m(doc)
    rt = m.get("response_time") or {}
    risk = m.get("churn_risk") or {}
    return {
        "messages": (doc["messages"], "int", "up"),
        "speakers": (a["speakers_share"]["speakers"], "int", "up"),
        "average_dau": (a["average_dau"], "float", "up"),
        "wau": (a["wau"], "int", "up"),
        "mau": (a["mau"], "int", "up"),
        "stickiness": (a["stickiness"], "pct", "up"),
        "speakers_share": (a["speakers_share"]["share"], "pct", "up"),
        "joins": (a["joins"], "int", "up"),
        "leaves": (a["leaves"], "int", "down"),
        "net": (a["net_growth"], "int", "up"),
        "newcomers": (m.get("newcomers"), "int", "up"),
        "churned": (m.get("churned_in_period"), "int", "down"),
        "questions": (rt.get("questions"), "int", "none"),
        "answered_24h": (rt.get("answered_24h_share"), "pct", "up"),
        "median_response": (rt.get("median_s"), "duration", "down"),
        "recall_count": (m.get("recall_count"), "int", "down"),
        "at_risk": (risk.get("at_risk") if risk.get("model") else None, "int", "down"),
    }


def kpis(doc: dict, previous: dict | None = None) -> list[dict]:
    now = kpi_values(doc)
    before = kpi_values(previous) if previous is not None else {}
    out = []
    for key, (value, kind, better) in now.items():
        if value is None and key in ("at_risk",):
            continue
        item = {"key": key, "value": FORMATS[kind](value), "delta": None, "previous": None}
        if previous is not None:
            last = before[key][0]
            item["delta"] = delta(value, last, kind=kind, better=better) if value is not None and last is not None else None
            item["previous"] = FORMATS[kind](last)
        out.append(item)
    return out


def actives_chart(daily: list[dict]) -> str | None:
    days = [date.fromisoformat(d["day"]) for d in daily]
    return charts.line_chart(days, {k: [d[k] for d in daily] for k in ("dau", "wau", "mau")})


def growth_chart(groups: list[dict]) -> str | None:
    """Joins and leaves per week: the groups' lifecycle weeks (latest first) added up across the groups shown."""
    weeks: dict[str, list[int]] = {}
    for g in groups:
        for w in g["lifecycle"]["weekly"]:
            acc = weeks.setdefault(w["week_start"], [0, 0])
            acc[0] += w["joins"]
            acc[1] += w["leaves"]
    order = sorted(weeks)
    return charts.diverging_bars([w[5:] for w in order], [weeks[w][0] for w in order], [weeks[w][1] for w in order])


def heatmap_chart(doc: dict) -> str | None:
    return charts.heatmap((doc.get("heatmap") or {}).get("counts") or [])


MAX_COHORTS = 24  # rows in the retention grid: the most recent ones (older cohorts would be unreadably thin)


def cohort_chart(doc: dict) -> str | None:
    rows = (doc.get("cohorts") or [])[-MAX_COHORTS:]
    return charts.retention_grid([r["cohort"] for r in rows], [r["size"] for r in rows], [r["retention"] for r in rows])


def cohorts_cut(doc: dict) -> dict | None:
    n = len(doc.get("cohorts") or [])
    return {"shown": MAX_COHORTS, "total": n} if n > MAX_COHORTS else None


def pyramid_chart(doc: dict) -> str | None:
    p = _m(doc).get("pyramid") or {}
    return charts.hbars(list(TIERS), [p.get(t, 0) for t in TIERS], centered=True)


def response_bins(times: list[float | None]) -> tuple[list[str], list[int]]:
    """Bar labels and counts: answered questions by first-response time, then the unanswered ones (∅)."""
    counts = [0] * (len(RESPONSE_BINS) + 2)
    for s in times:
        if s is None:
            counts[-1] += 1
            continue
        for i, (edge, _label) in enumerate(RESPONSE_BINS):
            if s <= edge:
                counts[i] += 1
                break
        else:
            counts[-2] += 1
    return [label for _e, label in RESPONSE_BINS] + [">24h", "∅"], counts


def response_chart(times: list[float | None]) -> str | None:
    labels, counts = response_bins(times)
    return charts.histogram(labels, counts, ["answered"] * (len(labels) - 1) + ["unanswered"])


def response_text(doc: dict) -> dict | None:
    rt = _m(doc).get("response_time")
    if not rt or not rt.get("questions"):
        return None
    return {"questions": num(rt["questions"]), "median": duration(rt.get("median_s")), "p90": duration(rt.get("p90_s")),
            "within": pct(rt.get("answered_24h_share"))}


def bands(doc: dict) -> dict | None:
    b = _m(doc).get("activity_bands") or {}
    total = sum(b.get(k, 0) for k in ("top80", "top95", "rest"))
    if not total:
        return None
    return {"top80": num(b.get("top80", 0)), "top95": num(b.get("top80", 0) + b.get("top95", 0)), "members": num(total)}


def _health(h: dict) -> dict:
    g = h.get("growth") or {}
    act = h.get("activity") or {}
    return {
        "growth": signed(g.get("net_4w")),
        "retention": pct(h.get("retention")),
        "activity": num(act.get("messages_per_day")),
        "response_rate": pct(h.get("response_rate")),
        "absence_factor": num(h.get("absence_factor")),
    }


def lifecycle_rows(doc: dict, previous: dict | None = None) -> list[dict]:
    before = {g["id"]: g["lifecycle"]["stage"] for g in (previous or {}).get("groups", [])}
    rows = []
    for g in doc.get("groups", []):
        life = g["lifecycle"]
        weekly = [w["messages"] for w in reversed(life["weekly"])]
        rows.append({
            "name": g["name"], "stage": life["stage"],
            "spark": charts.sparkline(weekly, charts.COLORS.get(life["stage"], "#888888")),
            "health": _health(g.get("health") or {}),
            "reason_en": life.get("reason"), "reason_zh": life.get("reason_zh"),
            "before": before.get(g["id"]), "changed": g["id"] in before and before[g["id"]] != life["stage"],
        })
    if previous is not None:
        rows.sort(key=lambda r: not r["changed"])  # changes first, otherwise in group order
    return rows


def recall_rows(doc: dict) -> list[dict]:
    return [
        {"name": r.get("name") or f"#{r['member_id']}", "usual_gap": num(r.get("usual_gap_days")), "silent_days": num(r.get("silent_days")),
         "reason_en": r.get("reason"), "reason_zh": r.get("reason_zh")}
        for r in _m(doc).get("recall") or []
    ]


def risk_rows(doc: dict) -> tuple[list[dict], str | None]:
    risk = _m(doc).get("churn_risk") or {}
    rows = [
        {"name": r.get("name") or f"#{r['member_id']}", "risk": pct(r.get("risk")),
         "reason_en": "; ".join(r.get("reasons") or []), "reason_zh": r.get("reasons_zh") and "；".join(r["reasons_zh"])}
        for r in risk.get("top") or []
    ]
    return rows, risk.get("note")


def key_member_rows(doc: dict) -> list[dict]:
    out = []
    for r in _m(doc).get("key_members") or []:
        out.append({"name": r.get("name") or f"#{r['member_id']}", "rank": num(r.get("rank")),
                    "pagerank": f"{r['pagerank']:.4f}" if r.get("pagerank") is not None else NO_VALUE,
                    "betweenness": f"{r['betweenness']:.4f}" if r.get("betweenness") is not None else NO_VALUE,
                    "repliers": num(r.get("repliers")), "reason_en": r.get("reason"), "reason_zh": r.get("reason_zh")})
    return out


def absence(doc: dict) -> dict | None:
    a = _m(doc).get("absence_factor") or {}
    return {"factor": num(a["absence_factor"])} if a.get("absence_factor") else None


def unanswered_rows(doc: dict, names: dict[int, str]) -> list[dict]:
    tz = doc["timezone"]
    group_names = {g["id"]: g["name"] for g in doc.get("groups", [])}
    rows = (_m(doc).get("response_time") or {}).get("unanswered") or []
    return [
        {"at": _local(q["at_ms"], tz), "group": group_names.get(q.get("group_id"), NO_VALUE),
         "name": names.get(q.get("member_id"), f"#{q.get('member_id')}"), "text": q.get("text")}
        for q in sorted(rows, key=lambda q: q["at_ms"], reverse=True)
    ]


def keyword_rows(doc: dict) -> list[dict]:
    return [
        {"period": f"{k['start']} – {k['end']}", "words": [w["term"] for w in k.get("keywords") or []]}
        for k in doc.get("keywords") or [] if k.get("keywords")
    ]


def _common(doc: dict, group_filter: list[str] | None) -> dict:
    return {"community": {"name": doc["community"], "timezone": doc["timezone"]}, "groups": group_filter or []}


# --- the two reports ------------------------------------------------------------------------------------------

def overview_view(data: Overview, *, group_filter: list[str] | None = None) -> dict:
    doc = data.doc
    risk, risk_note = risk_rows(doc)
    p = doc["period"]
    return {
        **_common(doc, group_filter),
        "period": {"since": _day(p["since"], doc["timezone"]), "until": _day(p["until"], doc["timezone"])},
        "kpis": kpis(doc),
        "charts": {
            "actives": actives_chart(doc["actives"].get("daily") or []),
            "growth": growth_chart(doc.get("groups", [])),
            "heatmap": heatmap_chart(doc),
            "cohorts": cohort_chart(doc),
            "pyramid": pyramid_chart(doc),
            "response": response_chart(data.response_s),
        },
        "cohorts_cut": cohorts_cut(doc),
        "bands": bands(doc),
        "response": response_text(doc),
        "lifecycle": lifecycle_rows(doc),
        "health_keys": HEALTH_KEYS,
        "recall": recall_rows(doc),
        "risk": risk,
        "risk_note": risk_note,
        "key_members": key_member_rows(doc),
        "key_member_cols": KEY_MEMBER_COLS,
        "absence": absence(doc),
        "unanswered": unanswered_rows(doc, data.names),
        "keywords": keyword_rows(doc),
    }


def weekly_view(data: Weekly, *, group_filter: list[str] | None = None, limit: int = 60) -> dict:
    doc, prev = data.doc, data.previous
    has_last = bool(prev["messages"] or prev["actives"]["joins"] or prev["actives"]["leaves"])
    daily = (prev["actives"].get("daily") or []) + (doc["actives"].get("daily") or [])

    def week(w):
        return {"label": w.label, "start": w.start.isoformat(), "end": w.last_day.isoformat()}

    return {
        **_common(doc, group_filter),
        "week": {"this": week(data.this), "last": week(data.last), "has_last": has_last},
        "kpis": kpis(doc, prev),
        "new_speakers": data.new_speakers,
        "lost_speakers": data.lost_speakers,
        "limit": limit,
        "stages": lifecycle_rows(doc, prev),
        "recall": recall_rows(doc),
        "charts": {
            "actives": actives_chart(daily),
            "heatmap": heatmap_chart(doc),
            "response": response_chart(data.response_s),
        },
        "response": response_text(doc),
    }
