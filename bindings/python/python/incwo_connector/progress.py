"""The marker index's progress for a terminal or a log: while a pass reads
list pages (the sweep of a first sync on a large account), the pages read,
the share done and an estimate of the time left. Pass an
:class:`IndexProgress` as a connector's ``on_progress``; ``incwo-py sync``
prints it to stderr."""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

__all__ = ["IndexProgress", "SHOW_FROM"]

#: Pages a pass reads before it is shown: a pass of an indexed account reads
#: one or two, a sweep many.
SHOW_FROM = 5

#: Pages between two lines when the stream is not a terminal.
LOG_EVERY = 100


class IndexProgress:
    """``on_progress(resource, pages_read, total_pages)`` printing a line per
    pass (redrawn on a terminal); :meth:`finish` closes the last one."""

    def __init__(self, stream: Optional[TextIO] = None, terminal: Optional[bool] = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._terminal = self._stream.isatty() if terminal is None else terminal
        self._clock = clock
        self._resource: Optional[str] = None
        self._started = 0.0
        self._first = 0
        self._last = 0
        self._shown = False

    def __call__(self, resource: str, pages_read: int, total_pages: int) -> None:
        if resource != self._resource:
            self.finish()
            self._resource, self._started, self._first = resource, self._clock(), pages_read
        if pages_read == self._last or pages_read < SHOW_FROM:
            return
        self._last = pages_read
        if self._terminal or pages_read % LOG_EVERY == 0 or not self._shown:
            self._shown = True
            line = self.line(resource, pages_read, total_pages)
            if self._terminal:
                self._stream.write(f"\r\x1b[2K{line}")
            else:
                self._stream.write(line + "\n")
            self._stream.flush()

    def line(self, resource: str, pages_read: int, total_pages: int) -> str:
        """``indexing firms: page 40/101 (39%), about 12 s left``."""
        done = pages_read - self._first
        eta = ""
        if done > 0:
            left = max(0, total_pages - pages_read)
            eta = f", about {(self._clock() - self._started) / done * left:.0f} s left"
        share = pages_read * 100 // max(1, total_pages)
        return f"incwo: indexing {resource}: page {pages_read}/{total_pages} ({share}%){eta}"

    def finish(self) -> None:
        """Closes the pass followed, with a line when it was shown."""
        if self._resource is not None and self._shown:
            if self._terminal:
                self._stream.write("\r\x1b[2K")
            self._stream.write(f"incwo: indexed {self._resource} ({self._last} pages read) in {self._clock() - self._started:.1f} s\n")
            self._stream.flush()
        self._resource, self._shown, self._last = None, False, 0
