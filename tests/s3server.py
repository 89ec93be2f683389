"""A real S3 API on 127.0.0.1 for tests: moto's server in a thread, reached through s3fs
exactly as a user's bucket is (an endpoint and credentials in ``storage_options``).

    with S3Server() as s3:
        url = s3.bucket("runs")              # a new, empty bucket: s3://runs
        pipeline YAML: storage_options: {s3.yaml_options}
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading

import s3fs
from moto.server import ThreadedMotoServer

from corpusforge.io import storage


class _Requests(logging.Handler):
    """The request lines the server logs (``GET /bucket?list-type=2... HTTP/1.1``)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        # werkzeug logs: address - - [date] "request line" status size
        args = record.args if isinstance(record.args, tuple) else ()
        line = next((a for a in args if isinstance(a, str) and " HTTP/" in a), None)
        if line is not None:
            with self._lock:
                # without the colours werkzeug adds for a terminal
                self.lines.append(re.sub(r"\x1b\[[0-9;]*m", "", line))


class S3Server:
    """moto's S3 server on a free port of 127.0.0.1; stopped when the block ends."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.requests = _Requests()
        log = logging.getLogger("werkzeug")
        log.setLevel(logging.INFO)
        log.propagate = False  # not on the console: into self.requests only
        log.addHandler(self.requests)

    def __enter__(self) -> S3Server:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.options = {"key": "testing", "secret": "testing",
                        "client_kwargs": {"endpoint_url": self.endpoint}}
        self.fs = s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, **self.options)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("werkzeug").removeHandler(self.requests)
        self._server.stop()

    @property
    def yaml_options(self) -> str:
        """The storage options as a YAML flow mapping (JSON is YAML)."""
        return json.dumps(self.options)

    @property
    def env(self) -> dict[str, str]:
        """The environment of a process that reaches the server without storage options."""
        return dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                    AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL_S3=self.endpoint)

    def bucket(self, name: str) -> str:
        """A new bucket, its options registered in this process; returns ``s3://name``."""
        self.fs.mkdir(name)
        url = f"s3://{name}"
        storage.register(url, self.options)
        return url

    def upload(self, local: str, url: str) -> None:
        self.fs.put(local, url.removeprefix("s3://"), recursive=True)
