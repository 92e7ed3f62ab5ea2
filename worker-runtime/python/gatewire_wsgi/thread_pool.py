"""The request threads of one process: a fixed set of threads fed by one queue.

Lighter than concurrent.futures (no Future per request). Each thread keeps its own counters and
the request it is running, written only by itself, so the watchdog and HEALTH read them without
a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from queue import SimpleQueue
from typing import Any, Callable

log = logging.getLogger("gatewire_wsgi")


class RequestThread:
    """One pool thread and what it is doing."""

    __slots__ = ("index", "thread", "job", "started", "completed", "timed_out")

    def __init__(self, index: int) -> None:
        self.index = index
        self.thread: threading.Thread | None = None
        self.job: Any = None  # the job being run, or None when idle
        self.started = 0.0
        self.completed = 0
        self.timed_out = False


class ThreadPool:
    def __init__(
        self,
        size: int,
        handler: Callable[[Any], None],
        track_time: bool,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._handler = handler
        self._track_time = track_time
        self._on_done = on_done
        self.threads = [RequestThread(index) for index in range(size)]
        for slot in self.threads:
            slot.thread = threading.Thread(target=self._loop, args=(slot,), name=f"request-{slot.index}", daemon=True)
            slot.thread.start()

    def submit(self, job: Any) -> None:
        self._queue.put(job)

    def completed(self) -> int:
        return sum(slot.completed for slot in self.threads)

    def _loop(self, slot: RequestThread) -> None:
        get = self._queue.get
        handler = self._handler
        track_time = self._track_time
        on_done = self._on_done
        monotonic = time.monotonic
        while True:
            job = get()
            if job is None:
                return
            if track_time:
                slot.started = monotonic()
                slot.timed_out = False
            slot.job = job
            try:
                handler(job)
            except BaseException:  # never lose a thread to a stray exception
                log.exception("internal error running a request", extra={"event": "internal_error"})
            slot.job = None
            slot.completed += 1
            if on_done is not None:
                on_done()
