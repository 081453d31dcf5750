"""The home page and its tanh figure."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from figures.home import SATURATED_A, activation_figure, saturated_ranges, tanh_figure
from rnn import SATURATED
from rnn.activation import ACTIVATIONS
from rnn.analysis import SATURATED_SLOPE
from tests.conftest import open_app
from tests.reference import G


def test_tanh_figure_draws_tanh_and_its_slope():
    fig = tanh_figure(a_max=3.0, n=61)
    go.Figure(fig.to_dict())  # valid plotly
    h, slope = fig.data
    np.testing.assert_allclose(h.y, np.tanh(h.x), atol=1e-12)
    np.testing.assert_allclose(slope.y, 1 - np.tanh(slope.x) ** 2, atol=1e-12)
    assert h.x[0] == -3.0 and h.x[-1] == 3.0 and len(h.x) == 61
    # shaded where |h| > SATURATED (0.95), so the slope 1 - h^2 is below 0.1: beyond |a| = 1.83
    shaded = sorted((s.x0, s.x1) for s in fig.layout.shapes)
    assert shaded == [(-3.0, -SATURATED_A), (SATURATED_A, 3.0)]
    assert SATURATED_A == pytest.approx(1.8318, abs=1e-4)
    outside = np.abs(slope.x) > SATURATED_A
    assert np.all(slope.y[outside] < 1 - SATURATED**2) and np.all(slope.y[~outside] >= 0.0975)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_figure_draws_g_its_slope_and_where_it_saturates(name):
    fig = activation_figure(ACTIVATIONS[name], a_max=4.0, n=401)
    h, slope = fig.data
    g, dg = G[name]  # the tests' own g and g'(a), written from a
    np.testing.assert_allclose(h.y, g(h.x), atol=1e-12)
    np.testing.assert_allclose(slope.y, dg(slope.x), atol=1e-12)
    inside = np.zeros(len(h.x), bool)
    for x0, x1 in saturated_ranges(name):
        inside |= (h.x > x0) & (h.x < x1)
    assert np.all(slope.y[inside] < SATURATED_SLOPE)
    assert np.all(slope.y[~inside & (h.x != 0)] >= SATURATED_SLOPE - 1e-9)
    assert len(fig.layout.shapes) == len(saturated_ranges(name))
    assert name != "identity" or not fig.layout.shapes  # the identity never saturates


def test_home_page_shows_the_equations_the_tanh_figure_and_the_views():
    at = open_app()
    latex = [e.value.strip("$\n") for e in at.get("latex")]
    assert latex[:2] == [r"a_t = W_i\,x_t + W_h\,h_{t-1} + b_h", r"h_t = \tanh(a_t)"]
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    assert len(charts) == 1
    (spec,) = charts.values()
    assert [tr["name"] for tr in spec["data"]] == ["h = tanh(a)", "slope 1 − h²"]
    assert len(at.get("page_link")) == 5
