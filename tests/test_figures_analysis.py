"""Figure builders of the BPTT, hidden-state space and atlas views: arrays in, traces out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from numpy.testing import assert_allclose

from figures.atlas import feature_bars, selectivity_grid, text_heatmap, text_layout
from figures.bptt import gradient_decay, gradient_text, mark_loss_step, sensitivity_heatmap
from figures.space import explained_variance, trajectory
from figures.style import SIGNED_SCALE


def _f(values) -> np.ndarray:
    """A trace array as floats, None as NaN."""
    return np.array([np.nan if v is None else v for v in np.asarray(values, dtype=object).ravel()],
                    dtype=float).reshape(np.shape(values))


def test_text_layout_wraps_at_width_and_line_breaks():
    rows, cols = text_layout(list("abcdefg"), width=3)
    assert rows.tolist() == [0, 0, 0, 1, 1, 1, 2] and cols.tolist() == [0, 1, 2, 0, 1, 2, 0]
    rows, cols = text_layout(list("ab\ncd"), width=10)
    assert rows.tolist() == [0, 0, 0, 1, 1] and cols.tolist() == [0, 1, 2, 0, 1]
    # A line break at the edge stays on its line: no empty row after a full line.
    rows, cols = text_layout(list("abc\nd"), width=3)
    assert rows.tolist() == [0, 0, 0, 0, 1] and cols.tolist() == [0, 1, 2, 3, 0]


def test_text_heatmap_places_each_value_under_its_token():
    tokens = list("hi there\nyou")
    values = np.linspace(-1, 1, len(tokens))
    fig = text_heatmap(tokens, values, width=5, zmax=1.0, mark=3)
    heat = fig.data[0]
    z = np.array(heat.z, dtype=float)
    rows, cols = text_layout(tokens, width=5)
    assert_allclose(z[rows, cols], values)
    filled = np.zeros_like(z, dtype=bool)
    filled[rows, cols] = True
    assert np.all(np.isnan(z[~filled]))
    assert heat.zmid == 0 and heat.zmin == -1 and heat.zmax == 1
    assert heat.colorscale == go.Heatmap(colorscale=SIGNED_SCALE).colorscale  # the shared scale
    letters = [d for d in fig.data if d.type == "scatter"]
    assert sum(len(d.text) for d in letters) == len(tokens)
    assert "␣" in sum((list(d.text) for d in letters), []) and "↵" in \
        sum((list(d.text) for d in letters), [])
    shape = fig.layout.shapes[0]
    assert (shape.x0 + shape.x1) / 2 == cols[3] and (shape.y0 + shape.y1) / 2 == rows[3]


def test_word_tokens_fill_cells_sized_to_the_word_and_long_words_are_cut():
    tokens = ["The", " ", "incomprehensibilities", " ", "of", "\n", "cats"]
    values = np.array([0.5, -0.5, 0.9, 0.1, -0.9, 0.0, 0.3])
    rows, cols = text_layout(tokens, width=18)
    # "The" 3 cells, " " 1, the long word cut to 12, " " 1: "of" would pass 18, so it wraps
    assert cols.tolist() == [0, 3, 4, 16, 0, 2, 0] and rows.tolist() == [0, 0, 0, 0, 1, 1, 2]
    fig = text_heatmap(tokens, values, width=18, zmax=1.0, mark=2)
    z = np.array(fig.data[0].z, dtype=float)
    assert_allclose(z[0, 0:3], 0.5) and np.isnan(z[0, 17:]).all()
    assert_allclose(z[0, 4:16], 0.9)  # the cut word fills its 12 cells
    hover = np.array(fig.data[0].customdata, dtype=object)
    assert all("incomprehensibilities" in h for h in hover[0, 4:16])  # whole on hover
    labels = sum((list(d.text) for d in fig.data if d.type == "scatter"), [])
    assert "incomprehen…" in labels and "incomprehensibilities" not in labels
    x_of = {t: x for d in fig.data if d.type == "scatter"
            for t, x in zip(d.text, d.x, strict=True)}
    assert x_of["The"] == 1.0 and x_of["incomprehen…"] == 9.5  # centred across its cells
    shape = fig.layout.shapes[0]
    assert (shape.x0, shape.x1) == (3.5, 15.5)


def test_text_heatmap_light_letters_on_dark_cells():
    """White on dark cells, black on light ones; a blank (NaN) cell's letter takes the theme's
    text colour, which reads on the page behind it, light or dark."""
    fig = text_heatmap(list("abcde"), np.array([-1.0, -0.1, 0.1, 1.0, np.nan]), zmax=1.0)
    by_colour = {d.textfont.color: list(d.text) for d in fig.data if d.type == "scatter"}
    assert by_colour == {"white": ["a", "d"], "black": ["b", "c"], None: ["e"]}
    gaps = gradient_text(list("abcd"), np.array([1e-3, 1e-2]), 1)  # tokens after t are blank
    blank = [list(d.text) for d in gaps.data if d.type == "scatter" and d.textfont.color is None]
    assert blank == [["c", "d"]]


def test_unit_grid_orders_units_and_marks_the_selected_one():
    best_r = np.array([0.1, -0.9, 0.5, 0.0])
    order = np.array([1, 2, 0, 3])
    fig = selectivity_grid(best_r, order, [f"d{i}" for i in range(4)], selected=2, n_cols=2)
    tr = fig.data[0]
    assert list(tr.customdata) == [1, 2, 0, 3]
    assert_allclose(tr.marker.color, best_r[order])
    assert list(tr.x) == [0, 1, 0, 1] and list(tr.y) == [0, 0, 1, 1]
    assert list(tr.marker.line.width) == [1, 3, 1, 1]
    assert tr.hovertext[0] == "neuron 1: d1"


def test_feature_bars_largest_on_top():
    r = np.array([0.2, -0.8, 0.5])
    fig = feature_bars(r, ("a", "b", "c"), neuron=4)
    assert list(fig.data[0].y) == ["a", "c", "b"]  # plotly draws the last bar at the top
    assert_allclose(fig.data[0].x, [0.2, 0.5, -0.8])


def test_gradient_text_colours_only_tokens_up_to_t():
    norms = np.array([1e-3, 1e-2, 1e-1, 1.0])
    fig = gradient_text(list("abcdef"), norms, 3)
    z = np.array(fig.data[0].z, dtype=float)[0]
    assert_allclose(z[:4], [-3, -2, -1, 0])
    assert np.all(np.isnan(z[4:6]))
    assert fig.layout.shapes[0].x0 == 2.5


def test_gradient_decay_against_distance():
    t = 4
    dh = np.array([1e-4, 1e-3, 0.0, 1e-1, 1.0])  # a zero norm is a gap on the log axis
    fig = gradient_decay(list("abcde"), t, dh, dh * 2, dh * 3, np.array([0, 0.5, 1, 0, 0.2]))
    line = fig.data[0]
    assert list(line.x) == [4, 3, 2, 1, 0]
    y = _f(line.y)
    assert np.isnan(y[2])
    assert_allclose(y[[0, 1, 3, 4]], dh[[0, 1, 3, 4]])
    assert fig.layout.yaxis.type == "log"
    bar = fig.data[-1]
    assert bar.type == "bar" and bar.yaxis == "y2"
    assert_allclose(bar.y, [0, 0.5, 1, 0, 0.2])


def test_sensitivity_heatmap_and_mark():
    M = np.full((3, 3), np.nan)
    M[np.tril_indices(3)] = [1.0, 0.1, 1.0, 0.01, 0.1, 1.0]
    fig = sensitivity_heatmap(M, list("abc"))
    z = np.array(fig.data[0].z, dtype=float)
    assert_allclose(z[np.tril_indices(3)], np.log10(M[np.tril_indices(3)]))
    assert np.all(np.isnan(z[np.triu_indices(3, 1)]))
    assert fig.layout.shapes[0].visible is False
    mark_loss_step(fig, 1)
    s = fig.layout.shapes[0]
    assert s.visible and (s.y0, s.y1, s.x1) == (0.5, 1.5, 1.5)


@pytest.mark.parametrize("dims", [2, 3])
def test_trajectory_draws_the_projection(dims):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    ref = rng.standard_normal((20, 4))
    ratio = np.array([0.4, 0.2, 0.1, 0.05])
    fig = trajectory(z, list("ab cd\n"), ratio, t=2, dims=dims, reference=ref)
    names = [d.name for d in fig.data]
    assert names == ["reference states", "your text", "now"]
    path = fig.data[1]
    assert_allclose(path.x, z[:, 0])
    assert_allclose(path.y, z[:, 1])
    assert list(path.text) == ["a", "b", "␣", "c", "d", "↵"]
    now = fig.data[2]
    assert_allclose([now.x[0], now.y[0]], z[2, :2])
    assert len(fig.frames) == 6
    for i, frame in enumerate(fig.frames):
        assert_allclose([frame.data[0].x[0], frame.data[0].y[0]], z[i, :2])
        assert list(frame.traces) == [2]
    if dims == 3:
        assert path.type == "scatter3d"
        assert_allclose(path.z, z[:, 2])
        assert "PC3 (10.0% of variance)" == fig.layout.scene.zaxis.title.text
    else:
        assert fig.layout.xaxis.title.text == "PC1 (40.0% of variance)"
        lo, hi = fig.layout.xaxis.range
        assert lo <= min(z[:, 0].min(), ref[:, 0].min()) and hi >= max(z[:, 0].max(),
                                                                     ref[:, 0].max())


def test_trajectory_without_animation_or_cloud():
    z = np.arange(8, dtype=float).reshape(4, 2)
    fig = trajectory(z, list("abcd"), np.array([0.5, 0.3]), t=9, animate=False)
    assert [d.name for d in fig.data] == ["your text", "now"]
    assert not fig.frames and not fig.layout.updatemenus
    assert_allclose([fig.data[1].x[0], fig.data[1].y[0]], z[3])  # t is clipped to T - 1


def test_explained_variance_cumulative():
    fig = explained_variance(np.array([0.5, 0.3, 0.1]))
    assert_allclose(fig.data[0].y, [0.5, 0.3, 0.1])
    assert_allclose(fig.data[1].y, [0.5, 0.8, 0.9])
