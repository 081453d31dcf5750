"""The run registry: tokens, isolation, the training cap, leaving, release and memory bounds."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from session import runs
from session.runs import RunLimits, RunRegistry, RunsFull, State, Why, deep_nbytes
from tests.conftest import until as wait_until

WAIT_S = 10.0


class FakeRun:
    """The part of a TrainRun the registry uses; one 'step' per chunk."""

    def __init__(self, target=None, diverge_at=None):
        self.playing = False
        self.lock = threading.Lock()
        self.steps = 0
        self.target = target
        self.diverge_at = diverge_at
        self.trainer = SimpleNamespace(diverged=None)


def chunk(run: FakeRun) -> int:
    with run.lock:
        if not run.playing:
            return 0
        time.sleep(0.002)
        run.steps += 1
        if run.diverge_at is not None and run.steps >= run.diverge_at:
            run.trainer.diverged = "Training diverged."
            run.playing = False
        if run.target is not None and run.steps >= run.target:
            run.playing = False
        return 1


def pause(run: FakeRun) -> None:
    run.playing = False
    with run.lock:
        pass


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def until(cond, what: str) -> None:
    wait_until(cond, what, WAIT_S)


@pytest.fixture
def make():
    made = []

    def _make(clock=None, sweep_every_s=30.0, **limits):
        reg = RunRegistry(RunLimits(**limits), chunk=chunk, pause=pause,
                          clock=clock or time.monotonic, sweep_every_s=sweep_every_s)
        made.append(reg)
        return reg

    yield _make
    for reg in made:
        reg.shutdown()


def test_tokens_are_long_random_and_url_safe(make):
    reg = make()
    tokens = {reg.create(FakeRun()) for _ in range(10)}
    assert len(tokens) == 10
    for t in tokens:
        assert runs.TOKEN.fullmatch(t) and len(t) * 6 >= 128


def test_two_sessions_never_see_each_others_runs(make):
    reg = make()
    a, b = FakeRun(), FakeRun()
    ta, tb = reg.create(a), reg.create(b)
    assert reg.attach(ta) is a and reg.attach(tb) is b
    reg.play(ta)
    until(lambda: a.steps > 3, "a to train")
    assert b.steps == 0 and reg.status(tb).state == State.PAUSED


@pytest.mark.parametrize("change", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character altered
    lambda t: t[:-1],  # cut
    lambda t: t + "x",
    lambda t: t.upper() if t.upper() != t else t.lower(),
    lambda t: "",
    lambda t: None,
    lambda t: "../" + t[3:],
])
def test_an_altered_or_guessed_token_finds_nothing(make, change):
    reg = make()
    token = reg.create(FakeRun())
    other = change(token)
    assert other != token
    assert reg.attach(other) is None and reg.status(other) is None
    assert reg.play(other) is None
    assert reg.stats()["training"] == 0


def test_a_run_trains_on_its_own_thread_until_paused(make):
    reg = make()
    run = FakeRun()
    token = reg.create(run)
    assert reg.play(token).state == State.TRAINING
    until(lambda: run.steps >= 5, "training")
    reg.pause(token)
    at = run.steps
    until(lambda: reg.stats()["threads"] == 1, "the thread to end")
    time.sleep(0.05)
    assert run.steps == at
    status = reg.status(token)
    assert (status.state, status.why, status.message) == (State.PAUSED, Why.USER, "Paused.")


def test_a_pause_made_on_the_run_itself_ends_its_thread(make):
    reg = make()
    run = FakeRun()
    token = reg.create(run)
    reg.play(token)
    until(lambda: run.steps >= 2, "training")
    pause(run)  # the Train page's Step button pauses this way
    until(lambda: reg.stats()["threads"] == 1, "the thread to end")
    assert reg.status(token).why == Why.USER


@pytest.mark.parametrize("kind,why", [("target", Why.TARGET), ("diverge", Why.DIVERGED)])
def test_a_run_that_stops_by_itself_says_why(make, kind, why):
    reg = make()
    run = FakeRun(target=20) if kind == "target" else FakeRun(diverge_at=7)
    token = reg.create(run)
    reg.play(token)
    until(lambda: reg.status(token).state == State.PAUSED, "the run to stop")
    until(lambda: reg.stats()["threads"] == 1, "the thread to end")
    assert reg.status(token).why == why
    assert run.steps == (20 if kind == "target" else 7)
    if kind == "diverge":  # it does not play again until the divergence is dealt with
        assert reg.play(token).state == State.PAUSED


def test_no_more_runs_train_at_once_than_the_cap_and_they_take_turns(make, monkeypatch):
    monkeypatch.setattr(runs, "SLICE_S", 0.05)
    reg = make(max_training=1)
    a, b = FakeRun(), FakeRun()
    ta, tb = reg.create(a), reg.create(b)
    reg.play(ta)
    status = reg.play(tb)
    assert (status.state, status.place) == (State.WAITING, 1)
    assert "at most 1 run trains at once" in status.message
    assert runs.at_once(2) == "at most 2 runs train at once"
    seen_training = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:
        seen_training.append(reg.stats()["training"])
        time.sleep(0.002)
    assert max(seen_training) == 1
    assert a.steps > 5 and b.steps > 5  # both made progress: turns, not starvation
    reg.pause(ta)
    until(lambda: reg.status(tb).state == State.TRAINING, "b to take the free place")


def test_a_run_over_the_cap_and_the_line_is_paused_and_says_so(make, monkeypatch):
    monkeypatch.setattr(runs, "WAITING_PER_TRAINER", 1)
    reg = make(max_training=1)
    tokens = [reg.create(FakeRun()) for _ in range(3)]
    states = [reg.play(t).state for t in tokens]
    assert states == [State.TRAINING, State.WAITING, State.PAUSED]
    status = reg.status(tokens[2])
    assert status.why == Why.CAP and "server is full" in status.message


def test_a_playing_run_left_alone_past_the_limit_is_paused(make):
    clock = Clock()
    reg = make(clock, leave_s=60.0, idle_s=600.0)
    run = FakeRun()
    token = reg.create(run)
    reg.play(token)
    until(lambda: run.steps >= 2, "training")
    clock.now = 61.0
    until(lambda: reg.stats()["threads"] == 1, "the thread to end")
    status = reg.status(token)
    assert status.why == Why.LEFT and "1 minutes" in status.message


def test_a_touched_run_keeps_training(make):
    clock = Clock()
    reg = make(clock, leave_s=60.0)
    run = FakeRun()
    token = reg.create(run)
    reg.play(token)
    for now in (50.0, 100.0, 150.0):
        clock.now = now
        reg.touch(token)
    at = run.steps
    until(lambda: run.steps > at + 2, "training to go on")
    assert reg.status(token).state == State.TRAINING


def test_a_run_unseen_for_the_idle_time_is_released_with_its_thread(make):
    clock = Clock()
    reg = make(clock, leave_s=600.0, idle_s=60.0, sweep_every_s=0.01)
    run = FakeRun()
    token = reg.create(run)
    reg.play(token)
    until(lambda: run.steps >= 2, "training")
    clock.now = 61.0  # nobody calls the registry: its janitor releases the run
    until(lambda: reg.stats()["runs"] == 0, "the release")
    until(lambda: not any(t.name.startswith("rnn-") and t.is_alive()
                          for t in threading.enumerate()), "the threads to end")
    assert reg.attach(token) is None
    assert reg.stats() == {"runs": 0, "training": 0, "waiting": 0, "bytes": 0, "drawing": 0,
                           "threads": 0}


def test_the_number_of_runs_is_bounded(make):
    reg = make(max_runs=2)
    reg.create(FakeRun())
    reg.create(FakeRun())
    with pytest.raises(RunsFull, match="already keeps 2 training runs"):
        reg.create(FakeRun())


def test_a_full_server_first_releases_runs_that_never_trained(make):
    """Room for a newcomer comes from runs with no step that nobody looked at for a minute;
    a run with steps, or one looked at lately, is never released for it."""
    clock = Clock()
    reg = make(clock=clock, max_runs=3)
    trained, fresh = FakeRun(), FakeRun()
    trained.steps = 5
    t_trained = reg.create(trained)
    t_empty = reg.create(FakeRun())
    clock.now = runs.EMPTY_GRACE_S + 1
    t_fresh = reg.create(fresh)  # a new visitor, seen just now
    t_new = reg.create(FakeRun())  # full: the empty run unseen for a minute makes room
    assert reg.attach(t_empty) is None
    assert reg.attach(t_trained) is trained and reg.attach(t_fresh) is fresh
    assert reg.attach(t_new) is not None
    with pytest.raises(RunsFull, match="already keeps 3 training runs"):
        reg.create(FakeRun())  # nothing left that may go: refused, nothing released
    assert reg.attach(t_trained) is trained and reg.attach(t_fresh) is fresh


def test_the_memory_of_runs_is_bounded():
    reg = RunRegistry(RunLimits(max_bytes=1000), chunk=chunk, pause=pause,
                      size=lambda run: 600, sweep_every_s=0.01)
    reg.create(FakeRun())
    with pytest.raises(RunsFull, match="MB left for training runs"):
        reg.create(FakeRun())
    reg.shutdown()


def test_replace_keeps_the_token_and_stops_the_old_run(make):
    reg = make()
    old, new = FakeRun(), FakeRun()
    token = reg.create(old)
    reg.play(token)
    until(lambda: old.steps >= 2, "training")
    assert reg.replace(token, new)
    assert not old.playing and reg.attach(token) is new
    assert reg.status(token).state == State.PAUSED


def test_shutdown_ends_every_thread(make):
    reg = make(max_training=3)
    for _ in range(3):
        reg.play(reg.create(FakeRun()))
    until(lambda: reg.stats()["threads"] == 4, "three trainers and the janitor")
    threads = [t for t in threading.enumerate() if t.name.startswith("rnn-")]
    reg.shutdown()
    assert reg.stats()["threads"] == 0
    assert not any(t.is_alive() for t in threads)


def test_deep_nbytes_counts_arrays_once_and_curves_cheaply():
    a = np.zeros(1000)
    obj = SimpleNamespace(x=a, y=a, view=a[:10], curve=[0.5] * 100_000, text="x" * 5000)
    n = deep_nbytes(obj)
    assert 8000 + 100_000 * 24 + 5000 <= n <= 8000 + 100_000 * 32 + 10_000


def test_limits_from_settings():
    from session.settings import Settings
    lim = RunLimits.from_settings(Settings(max_runs=3, max_training=1, runs_max_mb=10,
                                           run_idle_min=2, run_leave_min=1))
    assert lim == RunLimits(3, 1, 10 * 2**20, 120.0, 60.0)
    assert lim.max_waiting == 4


def test_a_real_training_run_trains_off_page_and_pauses_with_one_state():
    from rnn import TrainConfig, load_corpus
    from session import server, training

    run = training.new_run(load_corpus("english"), TrainConfig(hidden_size=16, seq_len=10,
                                                               batch_size=4), "english")
    reg = RunRegistry(RunLimits(), chunk=training.play_chunk, pause=training.pause,
                      size=server.run_size)
    try:
        token = reg.create(run)
        reg.play(token)
        until(lambda: run.steps >= 120, "120 steps")  # past the snapshot at 100
        reg.pause(token)
        at = run.steps
        time.sleep(0.1)
        assert run.steps == at and not run.playing
        assert [s.step for s in run.snapshots][:2] == [0, 100]
        until(lambda: reg.stats()["threads"] == 1, "the trainer to end")
        assert reg.stats()["bytes"] == server.run_size(run)  # measured again as it ended
    finally:
        reg.shutdown()


def test_a_page_reading_the_run_is_not_starved_by_its_trainer(make):
    """A page reads a run under its lock while the trainer thread takes it chunk after chunk;
    the trainer lets go between chunks, so the page waits about one chunk, not many."""
    def long_chunk(run):
        with run.lock:
            if run.playing:
                time.sleep(0.05)  # a chunk of 50 ms
                run.steps += 1

    reg = RunRegistry(RunLimits(), chunk=long_chunk, pause=pause)
    try:
        run = FakeRun()
        reg.play(reg.create(run))
        until(lambda: run.steps >= 2, "training")
        waits = []
        for _ in range(10):
            t0 = time.perf_counter()
            with run.lock:
                waits.append(time.perf_counter() - t0)
        assert max(waits) < 0.5, waits
    finally:
        reg.shutdown()


def test_trainers_wait_while_a_page_is_drawn_and_go_on_after(make):
    """A page being drawn (app.py draws every page in ``foreground``) goes first: a trainer
    starts no chunk meanwhile, at most ``give_way_s`` per chunk, and trains again after."""
    reg = RunRegistry(RunLimits(), chunk=chunk, pause=pause, give_way_s=30.0)
    try:
        run = FakeRun()
        reg.play(reg.create(run))
        until(lambda: run.steps >= 3, "training")
        with reg.foreground():
            time.sleep(0.05)  # a chunk in flight when the page began ends
            held = run.steps
            time.sleep(0.3)  # about 100 chunks of FakeRun's 2 ms
            assert run.steps == held
            with reg.foreground():  # two pages at once: both must end
                pass
            time.sleep(0.1)
            assert run.steps == held
        until(lambda: run.steps > held + 3, "training after the page was drawn")
    finally:
        reg.shutdown()


def test_a_page_that_is_never_done_does_not_stop_training(make):
    """However long pages are drawn (many people clicking), a trainer starts a chunk at least
    every ``give_way_s``."""
    reg = RunRegistry(RunLimits(), chunk=chunk, pause=pause, give_way_s=0.05)
    try:
        run = FakeRun()
        reg.play(reg.create(run))
        with reg.foreground():
            until(lambda: run.steps >= 3, "training while a page is drawn")
            t0, s0 = time.monotonic(), run.steps
            time.sleep(0.5)
            rate = (run.steps - s0) / (time.monotonic() - t0)
        assert 3 <= rate <= 40, rate  # about one chunk per 50 ms wait, never the free ~400/s
    finally:
        reg.shutdown()
