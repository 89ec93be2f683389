"""``corpusforge serve``: a search page over a run's indexes, on 127.0.0.1 by default.

The page (``page/``) is two static files; everything else is a JSON API the page calls:
``/api/search``, ``/api/count``, ``/api/trace`` (POST), ``/api/doc``. No URL is ever mapped
to a file: a document is addressed by its shard key (16 hex digits, checked) and row number,
never by its id, so an id such as ``../../etc/passwd`` names nothing. The page builds every
element from text (``textContent``), never from markup, and the Content-Security-Policy
forbids inline scripts and every other origin, so a document holding ``<script>`` is shown,
not run.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from urllib.parse import parse_qs, urlsplit

from corpusforge.search.layout import KEY
from corpusforge.search.query import Corpus, NotIndexed
from corpusforge.search.trace import trace

#: the page's files: name -> content type
STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/style.css": ("style.css", "text/css; charset=utf-8")}
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
          "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
#: largest request body (a text to trace) and result counts the API gives
MAX_BODY = 2**20
MAX_K = 100


class BadRequest(ValueError):
    pass


def _handler(corpus: Corpus) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "corpusforge"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            pass  # no request log on the terminal (queries may be anything)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", POLICY)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: object, status: int = 200) -> None:
            self._send(status, json.dumps(value, ensure_ascii=False).encode(), "application/json; charset=utf-8")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            args = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                if method == "GET" and url.path in STATIC:
                    name, kind = STATIC[url.path]
                    self._send(200, (files("corpusforge.search") / "page" / name).read_bytes(), kind)
                elif method == "GET" and url.path == "/favicon.ico":
                    self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")  # none, and no 404 for it
                elif method == "GET" and url.path == "/api/search":
                    k = min(MAX_K, _int(args.get("k", "10")))
                    hits = corpus.search(args.get("q", ""), args.get("kind", "bm25"), k, args.get("lang") or None)
                    self._json({"hits": [h.as_dict() for h in hits]})
                elif method == "GET" and url.path == "/api/count":
                    occurrences, documents = corpus.count_documents(args.get("q", ""))
                    self._json({"occurrences": occurrences, "documents": documents})
                elif method == "POST" and url.path == "/api/trace":
                    self._json(self._trace())
                elif method == "GET" and url.path == "/api/doc":
                    key = args.get("shard", "")
                    if not KEY.match(key):
                        raise BadRequest("a shard is 16 hex digits")
                    self._json(corpus.document(key, _int(args.get("row", ""))))
                else:
                    self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
            except (BadRequest, ValueError) as e:
                self._json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
            except NotIndexed as e:
                self._json({"error": str(e)}, HTTPStatus.NOT_FOUND)
            except KeyError:
                self._json({"error": "no such document"}, HTTPStatus.NOT_FOUND)

        def _trace(self) -> dict:
            length = _int(self.headers.get("Content-Length", "0"))
            if length > MAX_BODY:
                raise BadRequest("text too long")
            body = json.loads(self.rfile.read(length) or b"{}")
            text, min_chars = str(body.get("text", "")), max(1, _int(str(body.get("min_chars", 20))))
            spans = trace(corpus, text, min_chars)
            return {"text": text, "spans": [
                {"start": s.start, "end": s.end, "count": s.count,
                 "occurrences": [{"shard": o.shard, "row": o.row, "id": o.id, "offset": o.offset}
                                 for o in s.occurrences]} for s in spans]}

    return Handler


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"not a number: {value[:20]!r}") from None


def make_server(out: str, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A server for the indexes of ``out`` (call ``serve_forever``); port 0 takes a free one."""
    return ThreadingHTTPServer((host, port), _handler(Corpus(out)))
