"""The report page: plain HTML, inline SVG, inline CSS and no script at all (the page's
Content-Security-Policy forbids any, so a document's markup could not run even unescaped).

Every number a reader may check against ``stats.json`` is also in a ``data-*`` attribute of
its row (the browser test reads them)."""

from __future__ import annotations

from typing import Any

from corpusforge import histogram
from corpusforge.report import svg
from corpusforge.report.escape import esc

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.muted{color:#777}
svg.chart text{font-size:11px;fill:#333}.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #e4e4e4;padding:6px 10px;border-radius:4px}
pre.doc{white-space:pre-wrap;word-break:break-word;background:#fafafa;border:1px solid #eee;padding:6px;max-height:260px;overflow:auto}
.key span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
"""


def render(stats: dict, status: dict | None, info: dict | None, errors: dict[str, list[dict]]) -> str:
    steps = [s for s in stats.get("steps", []) if isinstance(s, dict)]
    name = (info or {}).get("pipeline") or (status or {}).get("pipeline") or "run"
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>corpusforge report: {esc(name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Run report: {esc(name)}</h1>",
        _run(stats, status, info),
        _funnel(steps),
        _reasons(steps),
        _documents(steps),
        _tokens(stats),
        _histograms(steps),
        _clusters(steps),
        _targets(steps),
        _errors(steps, errors),
        _times(steps),
        _samples(steps),
        "</body></html>",
    ]
    return "\n".join(parts)


def table(head: list[str], rows: list[str], cls: str = "") -> str:
    """A table of `head` and pre-rendered `rows` (class `cls`: what the tests select on)."""
    th = "".join(f'<th class="l">{esc(h)}</th>' if i == 0 else f"<th>{esc(h)}</th>" for i, h in enumerate(head))
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _run(stats: dict, status: dict | None, info: dict | None) -> str:
    st, info = status or {}, info or {}
    rows = [("state", st.get("state")), ("exit code", st.get("exit_code")),
            ("started", st.get("started_at")), ("ended", st.get("ended_at")),
            ("wall seconds", stats.get("wall_seconds")), ("work units", stats.get("units")),
            ("documents read", stats.get("docs_read")), ("documents written", stats.get("docs_written")),
            ("documents per second", stats.get("docs_per_second")), ("host", st.get("host")),
            ("resumed", st.get("resumed")), ("output", st.get("output") or (info.get("output") or {}).get("path"))]
    ex = info.get("executor")
    if ex:
        rows.insert(2, ("executor", f"{ex.get('type')} (workers: {ex.get('workers') or 'default'})"))
    for inp in info.get("inputs", []):
        where = inp.get("where")
        rows.append((f"input {inp.get('source')}", inp.get("type") if where is None else f"{inp.get('type')}: {where}"))
    if st.get("last_error"):
        rows.append(("last error", f"{st['last_error'].get('type')}: {st['last_error'].get('message')}"))
    body = "".join(f'<tr><td class="l">{esc(k)}</td><td class="l">{esc(v)}</td></tr>' for k, v in rows if v is not None)
    nodes = stats.get("nodes") or {}
    node_rows = [f'<tr><td class="l">{esc(g)}</td><td class="l">{esc(n)}</td><td>{t}</td></tr>'
                 for g, tally in nodes.items() for n, t in tally.items()]
    memory = stats.get("task_memory") or {}
    memory_rows = [f'<tr class="task-memory" data-group="{esc(g)}" data-peak="{int(m.get("peak", 0))}" '
                   f'data-growth="{int(m.get("growth", 0))}"><td class="l">{esc(g)}</td><td>{int(m.get("tasks", 0)):,}</td>'
                   f'<td>{m.get("peak", 0) / 2**20:,.0f}</td><td>{m.get("growth", 0) / 2**20:,.0f}</td></tr>'
                   for g, m in memory.items()]
    return ("<h2>Run</h2>" + f'<table id="run">{body}</table>'
            + (("<h3>Tasks per node</h3>" + table(["task group", "node", "tasks"], node_rows)) if node_rows else "")
            + (("<h3>Memory per task</h3><p>the largest peak resident set of a task's process, and the "
                "largest growth over what the process held when the task started</p>"
                + table(["task group", "tasks", "peak MB", "growth MB"], memory_rows, "memory"))
               if memory_rows else ""))


def _funnel(steps: list[dict]) -> str:
    rows, bars = [], []
    for s in steps:
        removed = sum(s.get("removed", {}).values())
        attrs = " ".join(f'data-{k.replace("_", "-")}="{int(s.get(k, 0))}"'
                         for k in ("docs_in", "docs_out", "bytes_in", "bytes_out", "errored"))
        rows.append(f'<tr class="step" data-step="{esc(s["name"])}" {attrs} data-removed="{removed}">'
                    f'<td class="l">{esc(s["name"])}</td><td>{s.get("docs_in", 0):,}</td><td>{s.get("docs_out", 0):,}</td>'
                    f'<td>{removed:,}</td><td>{s.get("errored", 0):,}</td><td>{s.get("bytes_in", 0):,}</td>'
                    f'<td>{s.get("bytes_out", 0):,}</td></tr>')
        bars.append((s["name"], [(s.get("docs_out", 0), svg.KEPT, "passed on"), (removed, svg.REMOVED, "removed"),
                                 (s.get("errored", 0), svg.ERRORED, "errored")]))
    key = (f'<p class="key"><span style="background:{svg.KEPT}"></span>passed on'
           f'<span style="background:{svg.REMOVED}"></span>removed<span style="background:{svg.ERRORED}"></span>errored</p>')
    return ("<h2>Funnel</h2><p>Documents and text bytes into and out of every step and stage, in run order.</p>"
            + table(["step", "docs in", "docs out", "removed", "errored", "bytes in", "bytes out"], rows, "funnel")
            + key + svg.stacked_bars(bars))


def _reasons(steps: list[dict]) -> str:
    rows = [f'<tr class="reason" data-step="{esc(s["name"])}" data-reason="{esc(r)}" data-count="{n}">'
            f'<td class="l">{esc(s["name"])}</td><td class="l">{esc(r)}</td><td>{n:,}</td>'
            f'<td>{100 * n / s["docs_in"] if s.get("docs_in") else 0:.2f}%</td></tr>'
            for s in steps for r, n in s.get("removed", {}).items()]
    if not rows:
        return "<h2>Removed by reason</h2><p class=\"muted\">nothing was removed</p>"
    return "<h2>Removed by reason</h2>" + table(["step", "reason", "documents", "of its input"], rows, "reasons")


def _documents(steps: list[dict]) -> str:
    counted = next((s for s in reversed(steps) if s.get("docs_by") is not None), None)
    if counted is None:
        return ""
    rows = [f'<tr class="docs-by" data-source="{esc(src)}" data-lang="{esc(lang)}" data-docs="{d}" data-bytes="{b}">'
            f'<td class="l">{esc(src)}</td><td class="l">{esc(lang)}</td><td>{d:,}</td><td>{b:,}</td></tr>'
            for src, langs in counted["docs_by"].items() for lang, (d, b) in langs.items()]
    return (f"<h2>Documents per source and language</h2><p>passed on by <b>{esc(counted['name'])}</b>, "
            "the last step of the map phase (before any stage)</p>"
            + table(["source", "language", "documents", "text bytes"], rows))


def _tokens(stats: dict) -> str:
    t = stats.get("tokens")
    if not t:
        return ("<h2>Tokens per language and source</h2><p class=\"muted\">no step counted tokens "
                "(a <code>tokenize</code> step adds them)</p>")
    out = [f"<h2>Tokens per language and source</h2><p>after <b>{esc(t.get('after'))}</b>: "
           f"{t.get('total', 0):,} tokens</p><div class=\"grid\">"]
    for key, title in (("languages", "language"), ("sources", "source")):
        rows = [f'<tr class="tokens" data-{title}="{esc(k)}" data-tokens="{n}"><td class="l">{esc(k)}</td><td>{n:,}</td></tr>'
                for k, n in (t.get(key) or {}).items()]
        out.append('<div class="card">' + table([title, "tokens"], rows) + "</div>")
    return "".join(out) + "</div>"


def _histograms(steps: list[dict]) -> str:
    out = ["<h2>Signals</h2><p>Per filter, each signal's documents kept and removed (annotate mode: "
           "those it would remove), on fixed bins (linear below 1, 20 per decade above); dashed lines "
           "are the configured thresholds. Hover a bar for its range and count.</p>"]
    any_ = False
    for s in steps:
        hs = s.get("histograms") or {}
        if not hs:
            continue
        any_ = True
        out.append(f'<h3>{esc(s["name"])}</h3><div class="grid">')
        for signal, h in hs.items():
            kept, removed = histogram.total(h.get("kept", {})), histogram.total(h.get("removed", {}))
            missing = h["kept"].get(histogram.NAN, 0) + h["removed"].get(histogram.NAN, 0)
            out.append(f'<div class="card histogram" data-step="{esc(s["name"])}" data-signal="{esc(signal)}" '
                       f'data-kept="{kept}" data-removed="{removed}"><b>{esc(signal)}</b> '
                       f'<span class="muted">kept {kept:,}, removed {removed:,}'
                       f'{f", missing {missing:,}" if missing else ""}</span><br>{svg.signal_histogram(h)}</div>')
        out.append("</div>")
    return "".join(out) if any_ else ""


#: characters of a cluster's kept text in its table row
CLUSTER_TEXT = 160


def _clusters(steps: list[dict]) -> str:
    out = []
    for s in steps:
        items = s.get("clusters") or []
        if not items:
            continue
        rows = [f'<tr class="cluster" data-step="{esc(s["name"])}" data-id="{esc(c.get("id"))}" data-size="{int(c["size"])}">'
                f'<td>{int(c["size"]):,}</td><td class="l">{esc(c.get("id"))}</td>'
                f'<td class="l">{esc(c.get("source"))} {esc(c.get("lang") or "")}</td><td class="l"><code>{esc(c.get("url"))}</code></td>'
                f'<td class="l">{esc((c.get("text") or "")[:CLUSTER_TEXT])}'
                f'{"…" if c.get("text_chars", 0) > CLUSTER_TEXT else ""}</td></tr>'
                for c in items]
        out.append(f'<h3>{esc(s["name"])}</h3>'
                   + table(["documents", "kept id", "source", "url", "kept text"], rows, "clusters"))
    if not out:
        return ""
    return ("<h2>Largest duplicate clusters</h2><p>Per dedup stage, its largest clusters (ties by the kept "
            "document's id): how many documents each holds and the one it kept.</p>" + "".join(out))


def _targets(steps: list[dict]) -> str:
    rows = [f'<tr class="target" data-step="{esc(s["name"])}" data-lang="{esc(lang)}" data-tokens="{t.get("tokens", 0)}">'
            f'<td class="l">{esc(s["name"])}</td><td class="l">{esc(lang)}</td><td>{t.get("target", 0):,}</td>'
            f'<td>{t.get("tokens", 0):,}</td><td>{"yes" if t.get("met") else "no"}</td></tr>'
            for s in steps for lang, t in (s.get("targets") or {}).items()]
    if not rows:
        return ""
    return "<h2>Mix: targets and achieved</h2>" + table(["stage", "language", "target", "tokens", "met"], rows)


def _errors(steps: list[dict], samples: dict[str, list[dict]]) -> str:
    rows = [f'<tr class="error-kind" data-step="{esc(s["name"])}" data-kind="{esc(k)}" data-count="{n}">'
            f'<td class="l">{esc(s["name"])}</td><td class="l">{esc(k)}</td><td>{n:,}</td></tr>'
            for s in steps for k, n in (s.get("error_kinds") or {}).items()]
    if not rows:
        return "<h2>Errors</h2><p class=\"muted\">no error records</p>"
    out = ["<h2>Errors</h2>", table(["step", "kind", "records"], rows)]
    for kind, recs in samples.items():
        out.append(f"<h3>{esc(kind)}</h3>")
        for r in recs:
            out.append(f'<div class="card"><b>{esc(r.get("step"))}</b> {esc(r.get("message"))}<br>'
                       f'<span class="muted">{esc(r.get("file"))} @ {esc(r.get("position"))} id {esc(r.get("id"))}</span>'
                       f'<pre class="doc">{esc(r.get("snippet"))}</pre></div>')
    return "".join(out)


def _times(steps: list[dict]) -> str:
    bars = [(s["name"], [(float(s.get("seconds", 0)), svg.KEPT, "seconds")]) for s in steps]
    return ("<h2>Time per step and stage</h2><p>Summed over tasks (CPU-seconds of the workers).</p>"
            + svg.stacked_bars(bars, unit=" s"))


def _samples(steps: list[dict]) -> str:
    out = ["<h2>Removed documents</h2><p>Per reason, up to a few documents chosen by id hash "
           "(the same for any worker count); text cut, shown as text.</p>"]
    for s in steps:
        for reason, items in (s.get("samples") or {}).items():
            out.append(f'<details class="samples" data-step="{esc(s["name"])}" data-reason="{esc(reason)}">'
                       f'<summary>{esc(s["name"])}: {esc(reason)} ({s.get("removed", {}).get(reason, 0):,} removed, '
                       f'{len(items)} shown)</summary>')
            for d in items:
                sig = ", ".join(f"{esc(k)}={esc(_short(v))}" for k, v in (d.get("signals") or {}).items())
                cut = d.get("text_chars", 0) > len(d.get("text") or "")
                out.append(f'<div class="card sample" data-id="{esc(d.get("id"))}"><b>{esc(d.get("id"))}</b> '
                           f'<span class="muted">{esc(d.get("source"))} {esc(d.get("lang") or "")}</span><br>'
                           f'url: <code>{esc(d.get("url"))}</code><br>{sig}'
                           f'<pre class="doc">{esc(d["text"]) if "text" in d else "(text not kept)"}{"…" if cut else ""}</pre></div>')
            out.append("</details>")
    return "".join(out)


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)[:200]
