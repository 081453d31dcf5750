"""History.chars_per_s: a moving window over training time, not the last few steps."""

from __future__ import annotations

import numpy as np
import pytest

from rnn.history import History


def history(step_seconds) -> History:
    h = History()
    h.seconds = list(np.cumsum(step_seconds))
    h.step = list(range(1, len(h.seconds) + 1))
    return h


def test_steady_steps_give_their_rate():
    h = history([0.01] * 1000)
    assert h.chars_per_s(25) == pytest.approx(2500, rel=1e-9)


def test_a_slow_step_moves_the_figure_little():
    """A validation pass (0.5 s) among 10 ms steps: over the last 100 steps it would read 33%
    low; over 3 s of training time, at most 17% (2.5 of the 3 s train at full speed)."""
    steps = [0.01] * 2000
    steps[1900] = 0.5
    h = history(steps)
    readings = []
    for n in range(1850, 2001, 10):
        part = History(seconds=h.seconds[:n], step=h.step[:n])
        readings.append(part.chars_per_s(25))
    assert min(readings) >= 2500 * 0.83
    assert max(readings) == pytest.approx(2500, rel=1e-9)


def test_slow_steps_use_at_least_100_steps():
    h = history([1.0] * 300)
    assert h.chars_per_s(25, window=3.0) == pytest.approx(25.0, rel=1e-9)
    assert history([1.0]).chars_per_s(25) != history([1.0]).chars_per_s(25)  # nan: one step
