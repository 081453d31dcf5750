"""The explorer's figures draw the Trace's own numbers, on the one shared signed scale."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from figures.explorer import (
    STEP_PANELS,
    UNKNOWN,
    as_grid,
    hidden_over_time_figure,
    neuron_grid,
    plain,
    prediction_figure,
    signed_zmax,
    step_figure,
    text_strip_figure,
    top_k,
)
from figures.style import signed_heatmap
from figures.weights import weight_figure
from rnn import RNN, Vocab
from tests.conftest import plotly_array

TOKENS = ("<unk>", " ", ".", "<", "a", "b", "e", "h", "t")
SHARED_SCALE = signed_heatmap(np.zeros((1, 1))).colorscale  # the resolved shared scale


def decode(v) -> np.ndarray:
    """A plotly JSON value as NumPy, None read as NaN; arrays of labels stay objects."""
    return plotly_array(v) if isinstance(v, dict) else np.array(plotly_array(v), dtype=object)


def as_json(fig: go.Figure) -> dict:
    """The figure as the browser receives it (same encoder as st.plotly_chart)."""
    return json.loads(pio.to_json(fig, validate=False))


def z_of(trace: dict) -> np.ndarray:
    z = trace["z"]
    if isinstance(z, dict):
        return decode(z).astype(float)
    return np.array([[np.nan if x is None else x for x in row] for row in z], dtype=float)


@pytest.fixture(params=[(1, 0), (10, 1), (128, 2)], ids=lambda p: f"H{p[0]}-seed{p[1]}")
def setup(request):
    H, seed = request.param
    vocab = Vocab(TOKENS)
    model = RNN.create(vocab.size, H, seed=seed, init_std=0.8)
    model.b_h[:] = np.random.default_rng(seed).normal(0, 0.3, H)
    enc = vocab.encode_report("the <b>eé.")
    return model, vocab, enc, model.forward(enc.ids)


def step_arrays(model, trace, t):
    return {"Wi_x": trace.Wi_x[t], "Wh_h": trace.Wh_h[t], "b_h": model.b_h, "a": trace.a[t],
            "h": trace.h[t]}


def assert_shared_symmetric(trace: dict, zmax: float | None = None):
    assert [tuple(c) for c in trace["colorscale"]] == [tuple(c) for c in SHARED_SCALE]
    assert trace["zmin"] == pytest.approx(-trace["zmax"])
    assert trace["zmid"] == 0
    if zmax is not None:
        assert trace["zmax"] == pytest.approx(zmax)


def test_neuron_grid_holds_every_neuron():
    for H in (1, 2, 7, 48, 100, 128, 129):
        rows, cols = neuron_grid(H)
        assert rows * cols >= H > (rows - 1) * cols
        g = as_grid(np.arange(H, dtype=float), cols)
        assert g.shape == (rows, cols)
        np.testing.assert_array_equal(g.ravel()[:H], np.arange(H))
        assert np.isnan(g.ravel()[H:]).all()


@pytest.mark.parametrize("t", [0, 4, 9])
def test_step_figure_z_equals_trace(setup, t):
    model, _, enc, trace = setup
    H = model.hidden_size
    arrays = step_arrays(model, trace, t)
    zmax = signed_zmax(trace.Wi_x, trace.Wh_h, trace.a, model.b_h, q=99)
    fig = as_json(step_figure(arrays, enc.tokens[t], t, neuron=H - 1, zmax=zmax))
    heatmaps = {tr["name"]: tr for tr in fig["data"] if tr["type"] == "heatmap"}
    assert list(heatmaps) == [key for key, _, _ in STEP_PANELS]
    for key, hm in heatmaps.items():
        z = z_of(hm).ravel()
        np.testing.assert_allclose(z[:H], arrays[key], rtol=0, atol=1e-12)
        assert np.isnan(z[H:]).all()
        np.testing.assert_array_equal(decode(hm["customdata"]).astype(int).ravel()[:H],
                                      np.arange(H))
        assert "%{z:.4f}" in hm["hovertemplate"] and "neuron %{customdata}" in hm["hovertemplate"]
        assert_shared_symmetric(hm, 1.0 if key == "h" else zmax)
    # the click targets (on the h_t grid only) carry the neuron index and h_t as text
    targets = [tr for tr in fig["data"] if tr["type"] == "scatter"]
    assert [tr["name"] for tr in targets] == ["h cells"]
    assert targets[0]["xaxis"] == heatmaps["h"]["xaxis"]
    np.testing.assert_array_equal(decode(targets[0]["customdata"]).astype(int), np.arange(H))
    assert targets[0]["text"] == [f"{v:.4f}" for v in arrays["h"]]
    # h_t = tanh(a_t) and a_t = sum of the three terms: the panels tell the true story
    np.testing.assert_allclose(np.tanh(arrays["a"]), arrays["h"], atol=1e-12)
    np.testing.assert_allclose(arrays["Wi_x"] + arrays["Wh_h"] + arrays["b_h"], arrays["a"],
                               atol=1e-12)
    # the chosen neuron is outlined in all five grids, at its cell
    rows, cols = neuron_grid(H)
    r, c = divmod(H - 1, cols)
    shapes = fig["layout"]["shapes"]
    assert len(shapes) == 5
    assert all(s["x0"] == c - 0.5 and s["y0"] == r - 0.5 for s in shapes)


def test_step_figure_escapes_the_token(setup):
    model, _, enc, trace = setup
    fig = as_json(step_figure(step_arrays(model, trace, 4), "<", 4))
    hover = fig["data"][0]["hovertemplate"]
    assert "token '&lt;'" in hover and "'<'" not in hover


def test_hidden_over_time_fills_up_to_t(setup):
    model, _, enc, trace = setup
    T, H = trace.h.shape
    t = 5
    fig = as_json(hidden_over_time_figure(trace.h, enc.tokens, t, neuron=0))
    hm = fig["data"][0]
    z = z_of(hm)
    assert z.shape == (H, T)
    np.testing.assert_allclose(z[:, : t + 1], trace.h[: t + 1].T, rtol=1e-6, atol=1e-7)
    assert np.isnan(z[:, t + 1:]).all()
    assert_shared_symmetric(hm, 1.0)
    assert "neuron %{y}" in hm["hovertemplate"] and "%{z:.4f}" in hm["hovertemplate"]
    assert hm["x"][4] == "4 '&lt;'"  # the hover names step and token, escaped
    cur = fig["layout"]["shapes"][0]
    assert (cur["x0"], cur["x1"]) == (t - 0.5, t + 0.5)


def test_prediction_bars_are_the_top_probabilities(setup):
    model, vocab, enc, trace = setup
    p = trace.probs[2]
    ids = top_k(p, 5)
    np.testing.assert_array_equal(ids, np.argsort(-p, kind="stable")[:5])
    actual = int(np.argsort(-p)[-1])  # the least likely token: gets its own bar with its rank
    fig = as_json(prediction_figure(p, list(vocab.tokens), actual=actual, k=5))
    bar = fig["data"][0]
    np.testing.assert_allclose(bar["x"][:5], p[ids], atol=1e-15)
    assert bar["x"][5] == pytest.approx(p[actual])
    assert f"(rank {vocab.size})" in bar["customdata"][5]
    colors = bar["marker"]["color"]
    assert colors[5] != colors[0] and len(set(colors[:5])) == 1


def test_prediction_marks_actual_inside_top_k(setup):
    _, vocab, _, trace = setup
    p = trace.probs[0]
    best = int(np.argmax(p))
    bar = as_json(prediction_figure(p, list(vocab.tokens), actual=best, k=3))["data"][0]
    assert len(bar["x"]) == 3 and bar["marker"]["color"][0] != bar["marker"]["color"][1]
    end = as_json(prediction_figure(p, list(vocab.tokens), actual=None, k=3))["data"][0]
    assert len(set(end["marker"]["color"])) == 1


def test_text_strip_marks_step_and_unknown(setup):
    _, _, enc, trace = setup
    unknown = [i for i, _ in enc.unknown]
    assert unknown  # "é" is not in the vocabulary
    fig = as_json(text_strip_figure(enc.tokens, 4, unknown=unknown))
    sc = fig["data"][0]
    assert sc["text"][4] == "&lt;" and sc["text"][3] == "␣"
    line = sc["marker"]["line"]["color"]
    assert all(line[i] == UNKNOWN for i in unknown)
    fill = sc["marker"]["color"]
    assert fill[4] != fill[3] and fill[3] != fill[5]  # current, read, not yet read
    assert "unknown" in sc["customdata"][unknown[0]][1]


def test_text_strip_colours_are_the_neuron_values(setup):
    _, _, enc, trace = setup
    j = trace.h.shape[1] - 1
    fig = as_json(text_strip_figure(enc.tokens, 2, values=trace.h[:, j], value_name="h[j]"))
    marker = fig["data"][0]["marker"]
    np.testing.assert_allclose(decode(marker["color"]).astype(float), trace.h[:, j], atol=1e-12)
    assert [tuple(c) for c in marker["colorscale"]] == [tuple(c) for c in SHARED_SCALE]
    assert (marker["cmin"], marker["cmax"], marker["cmid"]) == (-1, 1, 0)
    assert [float(c[2]) for c in fig["data"][0]["customdata"]] == pytest.approx(
        trace.h[:, j], abs=5e-5)


@pytest.mark.parametrize("name", ["W_i", "W_h", "W_o"])
def test_weight_figures_show_the_weights(setup, name):
    model, vocab, _, _ = setup
    W = getattr(model, name)
    fig = as_json(weight_figure(name, W, list(vocab.tokens)))
    hm = fig["data"][0]
    np.testing.assert_allclose(z_of(hm), W, atol=1e-12)
    assert_shared_symmetric(hm, float(np.abs(W).max()))
    assert "%{z:.4f}" in hm["hovertemplate"]


def test_signed_zmax_percentile():
    a = np.concatenate([np.ones(99), [100.0]])
    assert signed_zmax(a) == 100.0
    assert signed_zmax(a, q=50) == 1.0
    assert signed_zmax(np.zeros(3)) == 1.0


def test_plain_escapes_plotly_markup():
    assert plain("<b>") == "&lt;b&gt;"
    assert plain(" ") == "␣" and plain("\n") == "↵" and plain("a\nb") == "a↵b"


def test_figures_are_valid_plotly(setup):
    """The figure functions skip plotly's validation for speed; check it here instead."""
    model, vocab, enc, trace = setup
    figs = [
        step_figure(step_arrays(model, trace, 1), enc.tokens[1], 1, neuron=0),
        hidden_over_time_figure(trace.h, enc.tokens, 1, neuron=0),
        prediction_figure(trace.probs[1], list(vocab.tokens), actual=2),
        text_strip_figure(enc.tokens, 1, unknown=[9]),
        text_strip_figure(enc.tokens, 1, values=trace.h[:, 0]),
    ]
    for fig in figs:
        go.Figure(fig.to_dict())  # raises ValueError on any unknown or invalid property


# The colour scale names plotly.js itself knows; plotly.py also accepts others (e.g. "RdBu_r")
# and resolves them while validating, which the figures' fast dict path skips.
PLOTLY_JS_SCALES = {"Blackbody", "Bluered", "Blues", "Cividis", "Earth", "Electric", "Greens",
                    "Greys", "Hot", "Jet", "Picnic", "Portland", "Rainbow", "RdBu", "Reds",
                    "Viridis", "YlGnBu", "YlOrRd"}


def _walk(node, path=""):
    """(path, value) of every colorscale in a figure's JSON, outside its template."""
    if path.endswith(".template"):
        return
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
            if k == "colorscale":
                yield path, v
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def test_what_the_browser_gets_draws_as_meant(setup):
    """Colour scales the browser can read, and room for every axis's labels.

    Streamlit's chart theme papers over both, so check the figures themselves: a scale name
    plotly.js does not know (it has no "_r" names) is drawn in other colours, and without
    automargin long tick labels (tokens, neuron numbers) are cut off.
    """
    model, vocab, enc, trace = setup
    figs = {
        "grid": step_figure(step_arrays(model, trace, 1), enc.tokens[1], 1, neuron=0),
        "over time": hidden_over_time_figure(trace.h, enc.tokens, 1, neuron=0),
        "prediction": prediction_figure(trace.probs[1], list(vocab.tokens), actual=2),
        "strip": text_strip_figure(enc.tokens, 1, unknown=[9]),
        "neuron strip": text_strip_figure(enc.tokens, 1, values=trace.h[:, 0]),
    }
    for name, fig in figs.items():
        sent = as_json(fig)
        for where, scale in _walk(sent):
            assert isinstance(scale, list) or scale in PLOTLY_JS_SCALES, (name, where, scale)
        if name in ("over time", "prediction"):
            layout = sent["layout"]
            assert layout["xaxis"]["automargin"] and layout["yaxis"]["automargin"], name
