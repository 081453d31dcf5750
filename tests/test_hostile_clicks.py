"""Rapid clicking on Train live: play, pause, step and reset in quick succession, in both
orders, while a training chunk is still running on another thread (as Streamlit's fast reruns
make it). The Explorer's step buttons run in the browser (its step view component); their
rapid use is tested there (tests/browser/test_explorer_browser.py).

After every sequence the run is in one consistent state: the step counter equals the history's
length, nothing trains once paused, the lock is free, and no thread raised.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from rnn import TrainConfig, load_corpus
from session import training
from tests.conftest import errors, open_app
from ui import state

CORPUS = load_corpus("english")[:5000]
CONFIG = TrainConfig(hidden_size=16, seq_len=10, batch_size=4)
ACTIONS = ("play", "pause", "step", "reset")


def _consistent(run: training.TrainRun) -> None:
    h = run.trainer.history
    assert len(h.loss) == len(h.step) == run.steps
    assert h.step == list(range(1, run.steps + 1))
    assert not run.lock.locked()


class Timer:
    """The page's fragment timer: play_chunk again and again on its own thread."""

    def __init__(self, get_run) -> None:
        self.get_run, self.stop, self.failures = get_run, threading.Event(), []
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        try:
            while not self.stop.is_set():
                training.play_chunk(self.get_run())
                time.sleep(0.001)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.failures.append(e)

    def __enter__(self) -> Timer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the timer's chunk never ended"
        assert not self.failures, self.failures


@pytest.mark.parametrize("order", list(itertools.permutations(ACTIONS)),
                         ids=lambda o: "-".join(o))
def test_actions_in_any_order_while_a_chunk_trains(order):
    """Every order of the four actions, each done twice at once, with the timer running."""
    holder = {"run": training.new_run(CORPUS, CONFIG, "english")}
    holder["run"].playing = True
    with Timer(lambda: holder["run"]):
        time.sleep(0.05)  # a chunk is training now
        for action in order:
            for _ in range(2):  # a double click
                run = holder["run"]
                if action == "play":
                    if not run.trainer.diverged:
                        run.playing = True
                elif action == "pause":
                    training.pause(run)
                elif action == "step":
                    training.pause(run)
                    before = run.steps
                    assert training.run_chunk(run, seconds=None, max_steps=1) == 1
                    assert run.steps == before + 1
                else:
                    holder["run"] = training.new_run(CORPUS, CONFIG, "english")
        final = holder["run"]
        training.pause(final)
        n = final.steps
        time.sleep(0.3)  # longer than a chunk: a paused run must not move
        assert final.steps == n
    _consistent(final)


def _click_if_enabled(at, key: str) -> bool:
    button = at.button(key=key)
    if button.disabled:
        return False
    button.click().run()
    assert not at.exception, errors(at)
    return True


@pytest.mark.parametrize("order", [ACTIONS, ACTIONS[::-1], ("step", "play", "reset", "pause"),
                                   ("pause", "reset", "play", "step")], ids="-".join)
def test_train_page_clicks_in_quick_succession_during_a_chunk(order):
    at = open_app("pages/train.py")
    for key, v in {"train_hidden": 16, "train_seq_len": 10, "train_batch": 4}.items():
        at.number_input(key=key).set_value(v).run()
    _click_if_enabled(at, "train_play")
    run = state.train_run(at.session_state)
    chunk = threading.Thread(target=training.run_chunk, args=(run, 2.0))
    chunk.start()  # the timer's chunk of the previous script run, still training
    for action in order:
        for _ in range(2):
            _click_if_enabled(at, f"train_{action}")
    chunk.join(timeout=10)
    assert not chunk.is_alive()
    now = state.train_run(at.session_state)
    if now.playing:
        _click_if_enabled(at, "train_pause")
    n = now.steps
    at.run()
    assert not at.exception, errors(at)
    assert now.steps == n and not now.playing
    _consistent(now)
    step_shown = next(m.value for m in at.metric if m.label == "Step")
    assert step_shown == f"{n:,}"
