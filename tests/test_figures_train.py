"""figures.train.loss_figure: the axis spans the curves, and ln V is marked."""

from __future__ import annotations

import math

import numpy as np

from figures.train import LN2, loss_figure


def test_axis_spans_the_curves_and_marks_ln_v():
    V = 73
    step = np.arange(1, 51)
    loss = np.log(V) - 0.04 * step  # 4.29 falling to 2.29
    fig = loss_figure(step, loss, [25, 50], [3.3, 2.4], initial=math.log(V))
    lo, hi = fig.layout.yaxis.range
    assert 2.0 < lo < 2.29 and math.log(V) < hi < 4.6  # not 0 to the top
    lo2, hi2 = fig.layout.yaxis2.range
    assert math.isclose(lo2, lo / LN2) and math.isclose(hi2, hi / LN2)
    (line,) = [s for s in fig.layout.shapes if s.type == "line"]
    assert line.y0 == line.y1 == math.log(V)
    assert any("ln V = 4.29" in a.text for a in fig.layout.annotations)


def test_without_initial_or_data():
    fig = loss_figure([], [], [], [])
    assert fig.layout.yaxis.range[0] == 0.0
    assert not fig.layout.shapes
    fig = loss_figure([1, 2], [3.0, 2.0], [], [])
    assert fig.layout.yaxis.range[0] > 1.5
