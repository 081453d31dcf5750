"""The server gives the memory closed sessions freed back to the system (session/memory.py)."""

from __future__ import annotations

import threading
import time

import pytest

from session import memory, server
from tests.conftest import open_app


def _until(cond, what: str, timeout_s: float = 10.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout_s, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_give_back_returns_the_pages_a_free_left_with_the_allocator():
    """Blocks freed below a live one stay with glibc (it returns memory by itself only from
    the top of a heap); a trim gives their pages back."""
    if not memory.give_back():
        pytest.skip("this C library has no malloc_trim (not glibc)")
    blocks = [bytes([i % 251]) * 4000 for i in range(30_000)]  # 120 MB in 4 kB blocks
    kept = blocks[-1]  # the top one stays: nothing is returned from the top
    held = memory.resident_mb()
    del blocks
    freed = memory.resident_mb()
    memory.give_back()
    trimmed = memory.resident_mb()
    assert freed > held - 30, (held, freed)  # the free alone returned little
    assert trimmed < freed - 80, (held, freed, trimmed)
    assert len(kept) == 4000


def test_the_trimmer_trims_on_its_timer_until_stopped():
    calls = []
    t = memory.Trimmer(0.01, trim=lambda: calls.append(1) or True,
                       measure=iter([100.0, 90.0] * 1000).__next__).start()
    _until(lambda: len(calls) >= 3, "three trims")
    t.stop()
    n = len(calls)
    time.sleep(0.05)
    assert len(calls) == n  # stopped
    s = t.stats()
    assert s["trims"] == n and s["freed_mb"] == pytest.approx(10.0 * n)
    assert 0 <= s["median_ms"] <= s["max_ms"]
    assert not any(th.name == "rnn-trimmer" and th.is_alive() for th in threading.enumerate())


def test_the_trimmer_is_off_at_zero_and_ends_where_there_is_no_malloc_trim():
    assert memory.Trimmer(0.0).start()._thread is None
    calls = []
    t = memory.Trimmer(0.01, trim=lambda: calls.append(1) or False).start()
    _until(lambda: not t._thread.is_alive(), "the trimmer to end")
    assert calls == [1] and t.stats()["trims"] == 0


def test_the_app_starts_the_servers_trimmer_once(monkeypatch):
    monkeypatch.setenv("RNN_TRIM_EVERY_S", "0.01")
    server.reset()  # settings are read again, with the variable above
    open_app("pages/explorer.py")
    t = server.trimmer()
    assert t.every_s == 0.01 and t._thread is not None and t._thread.is_alive()
    _until(lambda: t.stats()["trims"] >= 2, "two trims")
    open_app()
    assert server.trimmer() is t  # one per server, whatever the number of sessions
    assert sum(th.name == "rnn-trimmer" for th in threading.enumerate()) == 1


@pytest.mark.parametrize("name,cls", [("runs", "RunRegistry"), ("trimmer", "Trimmer")])
def test_the_first_pages_of_many_sessions_at_once_make_one_of_each(monkeypatch, name, cls):
    """functools.cache alone may make a registry twice when two threads ask first; a session
    would then keep its run in an orphan registry and lose it at its next page."""
    made, real = [], getattr(server, cls)

    def slow(*args, **kwargs):
        time.sleep(0.05)
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(server, cls, slow)
    server.reset()
    ready, got = threading.Barrier(8), []

    def first_page():
        ready.wait()
        got.append(getattr(server, name)())

    threads = [threading.Thread(target=first_page) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len(got) == 8 and all(g is made[0] for g in got)
