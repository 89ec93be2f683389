"""Workers that end with their driver.

A driver killed outright (SIGKILL, the OOM killer) never gets to stop its pool, and a pool
worker waits on its task queue for as long as it lives: hundreds of MB each, forever. A worker
therefore asks the kernel for a signal when its parent dies (Linux), and watches its parent's
pid from a thread as well (every platform, and the case the signal misses: the driver gone
before the worker asked for it).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: seconds between two looks of the watchdog at the parent
WATCH_INTERVAL = 0.5

#: prctl(2) option: the signal this process gets when its parent dies
_PR_SET_PDEATHSIG = 1


def exit_with_parent(parent: int) -> None:
    """End this process, at once, when ``parent`` (its parent: the driver) is gone.

    The kernel sends the signal when the *thread* that started this process ends; the local
    executor starts its workers from the thread that runs the whole pipeline.
    """
    if sys.platform.startswith("linux"):
        _ask_for_signal(signal.SIGKILL)
    if os.getppid() != parent:  # gone before the signal was asked for: reparented already
        os._exit(1)
    threading.Thread(target=watch_parent, args=(parent,), name="corpusforge-parent-watch",
                     daemon=True).start()


def _ask_for_signal(sig: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl in this libc: the watchdog alone ends the worker


def watch_parent(parent: int) -> None:
    """Return never; end the process once its parent is no longer ``parent`` (an orphan is
    adopted by init, or by a subreaper, so its parent pid changes)."""
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    os._exit(1)
