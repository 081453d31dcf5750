"""Giving freed memory back to the system, so a server's memory falls again after a crowd leaves.

Two things keep a closed session's memory from the system:

* Python. A closed session's objects are held in reference cycles, which only a full garbage
  collection frees. Streamlit's collection after every script run is turned off
  (``runner.postScriptGC`` in .streamlit/config.toml: it took most of a busy server's time),
  and Python's own collector makes a full pass rarely, and never on an idle server.
* glibc. A free leaves the pages with the allocator, which returns memory by itself only from
  the top of each heap, and a server has one heap (arena) per thread that allocated, up to 8
  per core. ``malloc_trim(0)`` returns every whole free page of every arena.

So the server's ``Trimmer`` makes a full collection, then a trim, on a slow timer (a minute by
default). The collection holds the interpreter for about 0.1 s on this app's 106,000 objects,
so it is skipped when Python made a full one itself since the last round (a busy server does);
the trim lets other Python threads run (ctypes releases the interpreter's lock).

    give_back()     one trim now: True if the C library has malloc_trim (glibc), else False
    resident_mb()   this process's resident memory, from /proc (nan where there is none)
    Trimmer         a daemon thread that collects and trims every ``every_s``, and counts
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import statistics
import threading
import time

KEEP = 1000  # durations kept for the statistics


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
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Trimmer:
    """A full garbage collection and a trim every ``every_s``, on a daemon thread, from
    ``start()`` until ``stop()`` (``every_s`` 0: never).

    ``stats()`` tells how many rounds ran, how long their collections and trims took, and how
    much memory they returned (resident memory before minus after), for benchmarks and logs.
    """

    def __init__(self, every_s: float, *, collect=gc.collect, trim=give_back,
                 measure=resident_mb, full_collections=lambda: gc.get_stats()[2]["collections"]
                 ) -> None:
        self.every_s = every_s
        self._collect, self._trim, self._measure = collect, trim, measure
        self._full_collections = full_collections  # how many Python has made so far
        self._seen_full = None  # that count after this trimmer's last collection
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._collect_ms: list[float] = []
        self._trim_ms: list[float] = []
        self._rounds = 0
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
        """One round: collect (unless Python did since the last round), then trim (where the C
        library can)."""
        before = self._measure()
        t0 = time.perf_counter()
        collect = self._seen_full in (None, self._full_collections())  # else Python just did
        if collect:
            self._collect()
        self._seen_full = self._full_collections()
        t1 = time.perf_counter()
        trimmed = self._trim()
        t2 = time.perf_counter()
        freed = before - self._measure()
        with self._lock:
            self._rounds += 1
            if collect:
                self._collect_ms = (self._collect_ms + [(t1 - t0) * 1e3])[-KEEP:]
            if trimmed:
                self._trim_ms = (self._trim_ms + [(t2 - t1) * 1e3])[-KEEP:]
            if freed == freed:  # not nan
                self._freed_mb += max(0.0, freed)

    def stats(self) -> dict[str, float]:
        with self._lock:
            c, t = list(self._collect_ms), list(self._trim_ms)
            rounds, freed = self._rounds, self._freed_mb
        return {"rounds": rounds, "collections": len(c), "freed_mb": round(freed, 1),
                "collect_median_ms": statistics.median(c) if c else 0.0,
                "collect_max_ms": max(c, default=0.0),
                "trim_median_ms": statistics.median(t) if t else 0.0,
                "trim_max_ms": max(t, default=0.0)}

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.trim_now()
