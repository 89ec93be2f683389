"""The report of an incremental corpus (``<corpus>/report.html``): its snapshots as the
manifest lists them — documents, text bytes and tokens in all and per language and source —
each linking to the snapshot's own run report. Made from ``manifest.json`` alone."""

from __future__ import annotations

from urllib.parse import quote

from corpusforge.report.escape import esc
from corpusforge.report.page import CSP, STYLE, table

COUNTS = ("docs", "bytes", "tokens")


def render_corpus(manifest: dict, root: str, reports: dict[str, str]) -> str:
    """``reports``: the relative path of each snapshot's ``report.html`` that exists."""
    snaps = [s for s in manifest.get("snapshots", []) if isinstance(s, dict)]
    rows = []
    for s in snaps:
        sid = str(s.get("id"))
        link = reports.get(sid)
        name = (f'<a href="{esc(quote(link))}">{esc(sid)}</a>' if link
                else f'{esc(sid)} <span class="muted">(no report: <code>corpusforge report</code> its folder)</span>')
        rows.append(f'<tr class="snapshot" data-snapshot="{esc(sid)}" data-files="{_n(s, "files")}" '
                    f'data-docs-read="{_n(s, "docs_read")}" {_attrs(s)}><td class="l">{name}</td>'
                    f'<td class="l">{esc(s.get("committed_at"))}</td><td>{_n(s, "files"):,}</td>'
                    f'<td>{_n(s, "docs_read"):,}</td>{_cells(s)}</tr>')
    totals = manifest.get("totals") or {}
    rows.append(f'<tr class="total" {_attrs(totals)}><th class="l">total</th><td></td>'
                f'<td>{_n(totals, "files"):,}</td><td></td>{_cells(totals)}</tr>')
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>corpusforge corpus: {esc(root)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Corpus report: {esc(root)}</h1>",
        f"<p>{len(snaps)} snapshot(s), as <code>manifest.json</code> lists them; a snapshot's name opens "
        "its own run report.</p>",
        "<h2>Snapshots</h2>",
        table(["snapshot", "committed", "files", "read", "documents", "text bytes", "tokens"], rows, "snapshots"),
    ]
    for group, title in (("languages", "language"), ("sources", "source")):
        grows = [f'<tr class="by-{title}" data-snapshot="{esc(s.get("id"))}" data-{title}="{esc(k)}" {_attrs(v)}>'
                 f'<td class="l">{esc(s.get("id"))}</td><td class="l">{esc(k)}</td>{_cells(v)}</tr>'
                 for s in snaps for k, v in (s.get(group) or {}).items() if isinstance(v, dict)]
        grows += [f'<tr class="total-{title}" data-{title}="{esc(k)}" {_attrs(v)}><th class="l">all</th>'
                  f'<td class="l">{esc(k)}</td>{_cells(v)}</tr>'
                  for k, v in (totals.get(group) or {}).items() if isinstance(v, dict)]
        parts.append(f"<h2>Per {title}</h2>"
                     + table(["snapshot", title, "documents", "text bytes", "tokens"], grows, f"by-{title}"))
    index = manifest.get("index") or []
    for ix in index if isinstance(index, list) else []:
        segs = [f'<tr><td class="l">{esc(g.get("name"))}</td><td>{_n(g, "rows"):,}</td></tr>'
                for g in ix.get("segments", []) if isinstance(g, dict)]
        parts.append(f"<h2>Dedup index {esc(ix.get('path'))}</h2>" + table(["segment", "documents"], segs))
    parts.append("</body></html>")
    return "\n".join(parts)


def _n(d: dict, key: str) -> int:
    v = d.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _attrs(d: dict) -> str:
    return " ".join(f'data-{k}="{_n(d, k)}"' for k in COUNTS)


def _cells(d: dict) -> str:
    return "".join(f"<td>{_n(d, k):,}</td>" for k in COUNTS)
