"""One writer per output folder: a lock in ``_state/lock/`` that works on any fsspec filesystem.

The lock is a sequence of generations, ``gen-00000.json``, ``gen-00001.json`` ..., each made
with an exclusive create (``open(path, "xb")``: ``O_EXCL`` on a local disk, a conditional PUT
on S3), so two runs never both create the same one; the highest generation holds the output.
Its file names the owner (host, pid, when the process started, a run id) and a heartbeat that
a thread of the owner rewrites every :data:`HEARTBEAT_SECONDS`.

A run that finds the output held:

* by a live run, is refused (:class:`OutputLocked`, exit code 4);
* by a dead one, takes it over by creating the next generation (of two runs trying at once,
  exactly one succeeds) and removes the older generations.

Dead means: on the same machine (same host name, boot and process namespace), the pid is not
running, is a zombie, or is a process started at another time (the pid was reused); on another
machine, a heartbeat older than :data:`STALE_AFTER_SECONDS` (clocks must agree to well within
that). A lock file that stays unreadable (a run killed while creating it) is dead too.

The owner's heartbeat thread also watches the generations: one above its own means another run
took the output over (this one was thought dead, a network partition say); :meth:`OutputLock.check`
then raises :class:`LockLost` and the driver stops at the next unit.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import psutil

from corpusforge.engine.status import now_iso
from corpusforge.errors import EXIT_LOCKED, RunStopped
from corpusforge.io.atomic import write_json
from corpusforge.io.layout import OutputLayout, join
from corpusforge.io.storage import filesystem

#: how often the owner rewrites its heartbeat
HEARTBEAT_SECONDS = 30.0
#: a lock of another machine whose heartbeat is older than this is taken over
STALE_AFTER_SECONDS = 600.0
_GEN = re.compile(r"gen-(\d+)\.json$")


class OutputLocked(RunStopped):
    """Another live run holds the output folder."""

    exit_code = EXIT_LOCKED


class LockLost(RunStopped):
    """Another run took the output folder over while this one was running."""

    exit_code = EXIT_LOCKED


def _machine() -> str:
    """What makes two pids comparable: the host name, its boot and the pid namespace (two
    containers on one host share a host name but not their pids)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}|{int(psutil.boot_time())}|{namespace}"


def _process_start(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) an output: the owner record of the highest generation."""

    owner: dict[str, Any]
    alive: bool
    path: str

    def describe(self) -> str:
        o = self.owner
        beat = o.get("heartbeat")
        age = f", last heartbeat {time.time() - beat:.0f} s ago" if isinstance(beat, (int, float)) else ""
        return (f"host {o.get('host')!s}, pid {o.get('pid')!s}, started {o.get('started_at')!s}{age}; "
                f"its lock file: {self.path}")


class OutputLock:
    """The output's lock, held from :meth:`acquire` to :meth:`release` (or a ``with`` block)."""

    def __init__(self, layout: OutputLayout, *, heartbeat: float = HEARTBEAT_SECONDS,
                 stale_after: float = STALE_AFTER_SECONDS) -> None:
        self.root = layout.root
        self.fs, self.folder = filesystem(layout.lock_dir)
        #: the folder as a URL (``folder`` has no protocol: a lock file written by write_json
        #: to ``folder`` of a bucket would land on the local disk)
        self.url = layout.lock_dir
        self.heartbeat, self.stale_after = heartbeat, stale_after
        self.generation: int | None = None
        #: the owner record of a dead run this one took the output over from
        self.took_over: dict[str, Any] | None = None
        self.record: dict[str, Any] = {}
        self._stop = threading.Event()
        self._lost: int | None = None
        self._thread: threading.Thread | None = None

    # -- reading -----------------------------------------------------------------------------

    def _path(self, generation: int) -> str:
        """The lock file as the filesystem names it (what a listing returns)."""
        return join(self.folder, f"gen-{generation:05d}.json")

    def _url(self, generation: int) -> str:
        """The lock file as a URL, for write_json."""
        return join(self.url, f"gen-{generation:05d}.json")

    def _names(self) -> list[str]:
        self.fs.invalidate_cache(self.folder)  # object stores cache listings
        try:
            return [n.rstrip("/") for n in self.fs.ls(self.folder, detail=False)]
        except FileNotFoundError:
            return []

    def _generations(self) -> list[int]:
        return sorted(int(m.group(1)) for n in self._names() if (m := _GEN.search(n)))

    def _owner(self, generation: int) -> dict[str, Any] | None:
        """The owner record; None when the file is gone or stays unreadable (a creator killed
        between creating and writing it: a reader may also catch one being written, hence the
        second looks)."""
        for attempt in range(3):
            try:
                with self.fs.open(self._path(generation), "rb") as f:
                    owner = orjson.loads(f.read())
                if isinstance(owner, dict):
                    return owner
            except FileNotFoundError:
                return None
            except (OSError, ValueError):
                pass
            if attempt < 2:
                time.sleep(0.2 * (attempt + 1))
        return None

    def alive(self, owner: dict[str, Any]) -> bool:
        """Whether the run an owner record names is still running (see the module's rule)."""
        if owner.get("machine") == _machine():
            pid = owner.get("pid")
            if not isinstance(pid, int) or isinstance(pid, bool):
                return False
            try:
                proc = psutil.Process(pid)
                if proc.status() == psutil.STATUS_ZOMBIE:
                    return False
                started = proc.create_time()
            except psutil.NoSuchProcess:
                return False
            except psutil.AccessDenied:
                return True  # it exists; whose it is cannot be told
            # another start time: the pid was reused (a restarted container has the same pids)
            recorded = owner.get("pid_start")
            return not isinstance(recorded, (int, float)) or abs(started - recorded) < 1.0
        beat = owner.get("heartbeat")
        return isinstance(beat, (int, float)) and time.time() - beat < self.stale_after

    def holder(self) -> Holder | None:
        """Who holds the output now (None: nobody)."""
        gens = self._generations()
        if not gens:
            return None
        owner = self._owner(gens[-1])
        if owner is None:
            return None
        return Holder(owner, self.alive(owner), self._path(gens[-1]))

    # -- holding -----------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the lock, or raise :class:`OutputLocked` naming the live run that holds it."""
        pid = os.getpid()
        self.record = {"host": socket.gethostname(), "machine": _machine(), "pid": pid,
                       "pid_start": _process_start(pid), "run": uuid.uuid4().hex,
                       "started_at": now_iso()}
        self.fs.makedirs(self.folder, exist_ok=True)
        for _ in range(10):
            gens = self._generations()
            dead = None
            if gens:
                dead = self._owner(gens[-1])
                if dead is not None and self.alive(dead):
                    holder = Holder(dead, True, self._path(gens[-1]))
                    raise OutputLocked(
                        f"the output {self.root} is being written by another run ({holder.describe()}); "
                        "one output has one writer: wait for that run to end, or stop it. A lock "
                        "left by a run that died is taken over by the next run: at once on the same "
                        f"machine, after {self.stale_after:.0f} s without a heartbeat from another one")
            generation = gens[-1] + 1 if gens else 0
            if self._create(generation):
                self.generation, self.took_over = generation, dead
                # older generations, and the heartbeat file a killed owner was writing
                mine = self._path(generation)
                for name in self._names():
                    if name != mine:
                        self._remove(name)
                self._thread = threading.Thread(target=self._beat, name="corpusforge-lock", daemon=True)
                self._thread.start()
                return
            # another run created that generation at the same moment: look again
        raise OutputLocked(f"could not take the lock in {self.folder}: other runs keep taking it")

    def _create(self, generation: int) -> bool:
        body = orjson.dumps({**self.record, "heartbeat": time.time(), "heartbeat_at": now_iso()})
        path = self._path(generation)
        try:
            with self.fs.open(path, "xb") as f:
                f.write(body)
        except FileExistsError:
            return False
        except (ValueError, NotImplementedError):
            # a filesystem without exclusive create: the weaker check-then-write
            if self.fs.exists(path):
                return False
            write_json(self._url(generation), orjson.loads(body))
        return True

    def _remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(path)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                gens = self._generations()
                if not gens or gens[-1] != self.generation:
                    self._lost = gens[-1] if gens else -1
                    return
                write_json(self._url(self.generation),
                           {**self.record, "heartbeat": time.time(), "heartbeat_at": now_iso()})
            except Exception:  # noqa: BLE001 - a passing storage error: the next beat tries again
                continue

    def check(self) -> None:
        """Raise :class:`LockLost` if another run took the output over."""
        if self._lost is not None:
            how = (f"its lock, {self._path(self._lost)}, replaced this run's" if self._lost >= 0
                   else "this run's lock file was removed")
            raise LockLost(f"another run took the output {self.root} over ({how}); this run stops "
                           "so that the output has one writer")

    def release(self) -> None:
        """Stop the heartbeat and remove this run's lock file (unless another run took over)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.generation is not None:
            # this run's own generation only: one that took it over keeps its own
            self._remove(self._path(self.generation))
            if "file" in self.fs.protocol:  # no empty folder left behind (stores have none)
                with contextlib.suppress(OSError):
                    self.fs.rmdir(self.folder)
        self.generation = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
