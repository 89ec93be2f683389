"""The driver's side of progress inside map units: a thread that polls the units' progress
files (``io/progress.py``) while the map phase runs and reports what changed."""

from __future__ import annotations

import threading
from collections.abc import Callable

from corpusforge.io.progress import interval, read_progress, remove_progress

OnProgress = Callable[[str, int, int], None]


class ProgressPoller:
    """``with ProgressPoller(folder, on_progress):`` calls ``on_progress(label, docs, bytes)``
    for every unit whose file changed, until the block ends; a unit marked :meth:`done` (its
    stats have arrived) is not reported again. Removes the folder at the end."""

    def __init__(self, folder: str, on_progress: OnProgress) -> None:
        self.folder, self.on_progress = folder, on_progress
        self._done: set[str] = set()
        # a unit's last report is over before it is marked done (and its stats shown)
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="corpusforge-progress", daemon=True)

    def __enter__(self) -> ProgressPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        remove_progress(self.folder)

    def done(self, label: str) -> None:
        with self._lock:
            self._done.add(label)

    def poll(self) -> None:
        for label, counts in sorted(read_progress(self.folder).items()):
            with self._lock:
                if label not in self._done and self._seen.get(label) != counts:
                    self._seen[label] = counts
                    self.on_progress(label, *counts)

    def _loop(self) -> None:
        while not self._stop.wait(interval(self.folder)):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the view's loss, never the run's
                continue
