"""Giving freed memory back to the system, so a server's memory falls again after a crowd leaves.

When a session closes, Python frees its objects, but glibc's allocator keeps most of the freed
pages for later: it returns memory by itself only from the top of each heap, and a server has
one heap (arena) per thread that allocated, up to 8 per core. ``malloc_trim(0)`` returns every
whole free page of every arena. The server calls it on a slow timer (``Trimmer``); a trim with
nothing to return takes about a millisecond, and ctypes lets other Python threads run meanwhile.

    give_back()     one trim now: True if the C library has malloc_trim (glibc), else False
    resident_mb()   this process's resident memory, from /proc (nan where there is none)
    Trimmer         a daemon thread that trims every ``every_s`` and counts what it returned
"""

from __future__ import annotations

import ctypes
import functools
import os
import statistics
import threading
import time


@functools.cache
def _malloc_trim():
    try:
        trim = ctypes.CDLL(None).malloc_trim  # this process's own C library
    except (AttributeError, OSError):  # not glibc (musl, macOS, Windows): nothing to call
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def give_back() -> bool:
    """Return the whole free pages of every malloc arena to the system (glibc's malloc_trim)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def resident_mb() -> float:
    """Resident memory of this process in MB (Linux's /proc; nan elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * _page_size() / 2**20


@functools.cache
def _page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


class Trimmer:
    """Trims every ``every_s`` on a daemon thread, from ``start()`` until ``stop()``.

    ``stats()`` tells how many trims ran, how long they took and how much memory they
    returned (resident memory before minus after), for benchmarks and logs.
    """

    def __init__(self, every_s: float, *, trim=give_back, measure=resident_mb) -> None:
        self.every_s = every_s
        self._trim, self._measure = trim, measure
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ms: list[float] = []  # the last 1,000 trims' durations
        self._count = 0
        self._freed_mb = 0.0

    def start(self) -> Trimmer:
        with self._lock:
            if self._thread is None and self.every_s > 0:
                self._thread = threading.Thread(target=self._run, name="rnn-trimmer",
                                                daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def trim_now(self) -> None:
        before = self._measure()
        t0 = time.perf_counter()
        if not self._trim():
            self._stop.set()  # no malloc_trim here: nothing to do, ever
            return
        ms = (time.perf_counter() - t0) * 1e3
        freed = before - self._measure()
        with self._lock:
            self._ms = (self._ms + [ms])[-1000:]
            self._count += 1
            if freed == freed:  # not nan
                self._freed_mb += max(0.0, freed)

    def stats(self) -> dict[str, float]:
        with self._lock:
            ms, count, freed = list(self._ms), self._count, self._freed_mb
        return {"trims": count, "median_ms": statistics.median(ms) if ms else 0.0,
                "max_ms": max(ms, default=0.0), "freed_mb": round(freed, 1)}

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.trim_now()
