"""The home page and its tanh figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from figures.home import SATURATED, tanh_figure

APP = Path(__file__).resolve().parents[1] / "app.py"


def test_tanh_figure_draws_tanh_and_its_slope():
    fig = tanh_figure(a_max=3.0, n=61)
    go.Figure(fig.to_dict())  # valid plotly
    h, slope = fig.data
    np.testing.assert_allclose(h.y, np.tanh(h.x), atol=1e-12)
    np.testing.assert_allclose(slope.y, 1 - np.tanh(slope.x) ** 2, atol=1e-12)
    assert h.x[0] == -3.0 and h.x[-1] == 3.0 and len(h.x) == 61
    # shaded where the slope is below 1 - tanh(2)^2 (about 0.071): beyond |a| = 2
    shaded = sorted((s.x0, s.x1) for s in fig.layout.shapes)
    assert shaded == [(-3.0, -SATURATED), (SATURATED, 3.0)]
    assert np.all(slope.y[np.abs(slope.x) > SATURATED] < 0.071)


def test_home_page_shows_the_equations_the_tanh_figure_and_the_views():
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    latex = [e.value.strip("$\n") for e in at.get("latex")]
    assert latex[:2] == [r"a_t = W_i\,x_t + W_h\,h_{t-1} + b_h", r"h_t = \tanh(a_t)"]
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    assert len(charts) == 1
    (spec,) = charts.values()
    assert [tr["name"] for tr in spec["data"]] == ["h = tanh(a)", "slope 1 − h²"]
    assert len(at.get("page_link")) == 5
