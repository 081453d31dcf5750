"""The server gives the memory closed sessions freed back to the system (session/memory.py)."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from session import memory, server
from tests.conftest import open_app, until


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


def test_a_round_collects_the_cycles_a_closed_session_leaves_then_trims():
    """A closed session's objects are held in reference cycles: until a full collection they
    are not even free, and no trim can return them."""
    if not memory.give_back():
        pytest.skip("this C library has no malloc_trim (not glibc)")
    gc.disable()  # no collection by Python itself in between
    try:
        session = {"blocks": [bytes([i % 251]) * 4000 for i in range(30_000)]}  # 120 MB
        session["self"] = session  # a cycle, as a closed session's objects are
        kept = session["blocks"][-1]
        held = memory.resident_mb()
        del session
        memory.give_back()
        assert memory.resident_mb() > held - 30  # a trim alone: the cycle still holds it
        memory.Trimmer(60).trim_now()
        assert memory.resident_mb() < held - 80
        assert len(kept) == 4000
    finally:
        gc.enable()


def test_the_trimmer_collects_and_trims_on_its_timer_until_stopped():
    calls = []
    t = memory.Trimmer(0.01, collect=lambda: calls.append("collect"),
                       trim=lambda: calls.append("trim") or True,
                       measure=iter([100.0, 90.0] * 1000).__next__).start()
    until(lambda: len(calls) >= 6, "three rounds")
    t.stop()
    n = len(calls)
    time.sleep(0.05)
    assert len(calls) == n  # stopped
    assert calls[:6] == ["collect", "trim"] * 3
    s = t.stats()
    assert s["rounds"] == n // 2 and s["freed_mb"] == pytest.approx(10.0 * s["rounds"])
    assert 0 <= s["collect_median_ms"] <= s["collect_max_ms"]
    assert 0 <= s["trim_median_ms"] <= s["trim_max_ms"]
    assert not any(th.name == "rnn-trimmer" and th.is_alive() for th in threading.enumerate())


def test_a_round_leaves_the_collection_out_when_python_made_a_full_one_itself():
    full, calls = [0], []

    def collect():
        calls.append("collect")
        full[0] += 1

    t = memory.Trimmer(60, collect=collect, trim=lambda: calls.append("trim") or True,
                       full_collections=lambda: full[0])
    t.trim_now()
    t.trim_now()
    full[0] += 1  # Python's own full collection, between two rounds
    t.trim_now()
    t.trim_now()
    assert calls == ["collect", "trim", "collect", "trim", "trim", "collect", "trim"]
    assert t.stats()["rounds"] == 4 and t.stats()["collections"] == 3


def test_the_trimmer_is_off_at_zero_and_collects_where_there_is_no_malloc_trim():
    assert memory.Trimmer(0.0).start()._thread is None
    collected = []
    t = memory.Trimmer(0.01, collect=lambda: collected.append(1), trim=lambda: False).start()
    until(lambda: len(collected) >= 2, "two collections")
    t.stop()
    s = t.stats()
    assert s["rounds"] >= 2 and s["trim_max_ms"] == 0.0


def test_the_app_starts_the_servers_trimmer_once(monkeypatch):
    monkeypatch.setenv("RNN_TRIM_EVERY_S", "0.01")
    server.reset()  # settings are read again, with the variable above
    open_app("pages/explorer.py")
    t = server.trimmer()
    assert t.every_s == 0.01 and t._thread is not None and t._thread.is_alive()
    until(lambda: t.stats()["rounds"] >= 2, "two rounds")
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
