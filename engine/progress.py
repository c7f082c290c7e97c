"""Progress of long work off a terminal: a line on stderr every ``interval`` seconds.

At a terminal the commands draw a progress line that rewrites itself (``\\r``); piped or
logged (CI, ``make``, ``nohup``) that would be one endless line, and no output at all
would look like a hang.  :class:`Heartbeat` prints ``bulksim: <what> (<n> s)`` every
``interval`` seconds while the work runs (nothing for work shorter than that); the work
says what it is doing with :meth:`Heartbeat.say`.
"""

from __future__ import annotations

import sys
import threading
import time

INTERVAL = 15.0  # seconds between lines


class Heartbeat:
    def __init__(self, what: str, *, interval: float = INTERVAL, stream=None, enabled: bool = True):
        self.what, self.interval, self.enabled = what, interval, enabled
        self.stream = stream if stream is not None else sys.stderr
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.t0 = time.perf_counter()
        self.lines = 0

    def say(self, what: str) -> None:
        with self._lock:
            self.what = what

    def progress(self, label: str, done: int, total: int) -> None:
        """A progress callback: ``label: done/total calls (p%), ETA s``."""
        el = time.perf_counter() - self.t0
        eta = f", ETA {el / done * (total - done):.0f} s" if done else ""
        self.say(f"{label}: {done:,}/{total:,} calls ({100 * done / max(total, 1):.0f}%){eta}")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                what = self.what
            try:
                self.stream.write(f"bulksim: {what} ({time.perf_counter() - self.t0:.0f} s)\n")
                self.stream.flush()
                self.lines += 1
            except (OSError, ValueError):  # stderr gone: nothing left to tell
                return

    def __enter__(self) -> "Heartbeat":
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="bulksim-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
