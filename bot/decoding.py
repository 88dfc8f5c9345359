"""``DecodePool``: the bot's image decodes, a few at a time, on threads of their own.

A decoded picture holds its pixels in memory (4 bytes each in Pillow, even for RGB) until it is
fitted and encoded again, so memory grows with the number of decodes running at once, not with the
number of requests. ``asyncio.to_thread`` would run as many as its default executor has threads (up
to 32), and each thread keeps its own malloc arena: 40 requests at once took the bot from 68 MB to
1.23 GB, and it stayed there. A pool of two workers bounds both: at most two pictures in memory, at
most two arenas. Callers wait their turn; a waiting call that is cancelled never runs. After each
call the pool hands freed memory back to the system (glibc's ``malloc_trim``): a freed picture
otherwise stays resident in its arena, which is how the bot "stayed there" after the burst.

One pool is built for the process (``bot.__main__``) and handed to every adapter that decodes, so the
bound holds across profiles; nothing here is created at import time.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

DECODE_WORKERS = 2


class DecodePool:
    """Runs CPU- and memory-heavy image work with at most ``workers`` calls at once."""

    def __init__(self, workers: int = DECODE_WORKERS) -> None:
        if workers < 1:
            raise ValueError(f"a decode pool needs at least one worker, got {workers}")
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode")
        self._lock = threading.Lock()
        self._running = 0
        self.peak = 0  # the most calls ever seen running at once (for tests and diagnostics)
        self._trim = _malloc_trim()

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on a pool thread, once one is free; its result or its exception."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: self._counted(fn, *args, **kwargs))

    def _counted(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            self._running += 1
            self.peak = max(self.peak, self._running)
        try:
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                self._running -= 1
            if self._trim is not None:
                self._trim()

    def close(self) -> None:
        """Stop taking work; calls still queued are cancelled, a running one finishes on its thread."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> DecodePool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, which returns free heap pages of every arena to the system;
    ``None`` where there is no such call (musl, macOS): there is then nothing to do."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)
