// The search page: every string from the server goes into the page through textContent or
// text nodes, never as markup.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

// text with [start, end) spans wrapped in <mark>
function marked(text, spans, link) {
  const box = document.createDocumentFragment();
  let at = 0;
  for (const [i, [s, e]] of spans.entries()) {
    if (s > at) box.appendChild(document.createTextNode(text.slice(at, s)));
    const m = el("mark", text.slice(s, e));
    if (link) {
      const a = el("a", null, { href: link(i) });
      a.appendChild(m);
      box.appendChild(a);
    } else {
      box.appendChild(m);
    }
    at = e;
  }
  box.appendChild(document.createTextNode(text.slice(at)));
  return box;
}

function docLink(shard, row, start, length) {
  const tail = start === undefined ? "" : `/${start}/${length}`;
  return `#/doc/${encodeURIComponent(shard)}/${Number(row)}${tail}`;
}

async function getJSON(url, init) {
  const r = await fetch(url, init);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function show(view) {
  for (const v of ["search-view", "trace-view", "doc-view"]) $(v).hidden = v !== view;
}

async function runSearch(ev) {
  if (ev) ev.preventDefault();
  const q = $("q").value, kind = $("kind").value, lang = $("lang").value;
  const list = $("results");
  list.replaceChildren();
  $("summary").textContent = "searching…";
  try {
    if (kind === "exact") {
      const c = await getJSON(`/api/count?q=${encodeURIComponent(q)}`);
      $("summary").textContent = `${c.occurrences} occurrences in ${c.documents} documents`;
    }
    const params = new URLSearchParams({ q, kind, k: "20" });
    if (lang) params.set("lang", lang);
    const { hits } = await getJSON(`/api/search?${params}`);
    if (kind !== "exact") $("summary").textContent = `${hits.length} hits`;
    for (const h of hits) {
      const li = el("li", null, { class: "hit" });
      const head = el("div", null, { class: "meta" });
      const a = el("a", h.id, { href: docLink(h.shard, h.row), class: "doc-link" });
      head.append(`#${h.rank} · ${h.score.toPrecision(4)} · `, a, ` · ${h.source} · ${h.lang} · `);
      head.appendChild(el("span", h.url, { class: "url" }));
      const snip = el("div", null, { class: "snippet" });
      snip.appendChild(marked(h.snippet, h.highlights));
      li.append(head, snip);
      list.appendChild(li);
    }
  } catch (e) {
    $("summary").textContent = `error: ${e.message}`;
  }
}

async function runTrace(ev) {
  if (ev) ev.preventDefault();
  const text = $("trace-text").value;
  $("trace-summary").textContent = "tracing…";
  $("trace-out").replaceChildren();
  $("trace-spans").replaceChildren();
  try {
    const res = await getJSON("/api/trace", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, min_chars: Number($("min-chars").value) }),
    });
    $("trace-summary").textContent = `${res.spans.length} spans occur in the corpus`;
    // spans may overlap: the text shows their union, each piece linked to its span's first document
    const pieces = [];
    for (const s of res.spans) {
      const last = pieces[pieces.length - 1];
      if (last && s.start <= last[1]) last[1] = Math.max(last[1], s.end);
      else pieces.push([s.start, s.end, s]);
    }
    $("trace-out").appendChild(marked(res.text, pieces.map((p) => [p[0], p[1]]), (i) => {
      const o = pieces[i][2].occurrences[0];
      return o ? docLink(o.shard, o.row, o.offset, pieces[i][2].end - pieces[i][2].start) : "#/trace";
    }));
    for (const s of res.spans) {
      const li = el("li", null, { class: "span" });
      li.appendChild(el("div", `${s.count}× ${res.text.slice(s.start, s.end)}`));
      for (const o of s.occurrences) {
        li.appendChild(el("a", `${o.id} @${o.offset}`, { href: docLink(o.shard, o.row, o.offset, s.end - s.start) }));
        li.append(" ");
      }
      $("trace-spans").appendChild(li);
    }
  } catch (e) {
    $("trace-summary").textContent = `error: ${e.message}`;
  }
}

async function showDoc(shard, row, start, length) {
  show("doc-view");
  const meta = $("doc-meta"), body = $("doc-text");
  meta.replaceChildren();
  body.replaceChildren();
  try {
    const d = await getJSON(`/api/doc?shard=${encodeURIComponent(shard)}&row=${encodeURIComponent(row)}`);
    for (const k of ["id", "source", "lang", "url"]) meta.append(el("dt", k), el("dd", d[k]));
    const spans = start === undefined ? [] : [[Number(start), Number(start) + Number(length)]];
    body.appendChild(marked(d.text, spans));
    const m = body.querySelector("mark");
    if (m) m.scrollIntoView();
  } catch (e) {
    body.textContent = `error: ${e.message}`;
  }
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "doc") showDoc(parts[1], parts[2], parts[3], parts[4]);
  else if (parts[0] === "trace") show("trace-view");
  else show("search-view");
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", runSearch);
  $("trace-form").addEventListener("submit", runTrace);
  window.addEventListener("hashchange", route);
  route();
});
