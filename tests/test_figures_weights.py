"""The weight figures (the Explorer's expander) draw the model's own numbers on the signed scale."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from figures.style import SIGNED_STOPS, plain, signed_heatmap
from figures.weights import weight_figure
from rnn import RNN

TOKENS = ("<unk>", " ", ".", "<", "a", "b", "e", "h", "t")
SHARED_SCALE = signed_heatmap(np.zeros((1, 1))).colorscale  # the resolved shared scale


def z_of(trace: dict) -> np.ndarray:
    z = trace["z"]
    if isinstance(z, dict):  # plotly writes arrays as base64 'bdata'
        arr = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        return arr.reshape([int(s) for s in str(z["shape"]).split(",")]).astype(float)
    return np.array([[np.nan if x is None else x for x in row] for row in z], dtype=float)


@pytest.fixture(params=[(1, 0), (10, 1), (128, 2)], ids=lambda p: f"H{p[0]}-seed{p[1]}")
def model(request):
    H, seed = request.param
    return RNN.create(len(TOKENS), H, seed=seed, init_std=0.8)


@pytest.mark.parametrize("name", ["W_i", "W_h", "W_o"])
def test_weight_figures_show_the_weights(model, name):
    W = getattr(model, name)
    fig = weight_figure(name, W, list(TOKENS))
    go.Figure(fig.to_dict())  # raises ValueError on any unknown or invalid property
    hm = json.loads(pio.to_json(fig, validate=False))["data"][0]
    np.testing.assert_allclose(z_of(hm), W, atol=1e-12)
    assert [tuple(c) for c in hm["colorscale"]] == [tuple(c) for c in SHARED_SCALE]
    assert hm["zmin"] == pytest.approx(-hm["zmax"]) and hm["zmid"] == 0
    assert hm["zmax"] == pytest.approx(float(np.abs(W).max()))
    assert "%{z:.4f}" in hm["hovertemplate"]


def test_signed_stops_are_the_signed_scale():
    """The step view's colours (SIGNED_STOPS, sent to the browser) are the figures' scale."""
    assert [tuple(c) for c in SIGNED_STOPS] == [tuple(c) for c in SHARED_SCALE]
    assert SIGNED_STOPS[0][0] == 0.0 and SIGNED_STOPS[-1][0] == 1.0
    assert SIGNED_STOPS[len(SIGNED_STOPS) // 2][1] == "rgb(247,247,247)"  # white at 0


def test_token_labels_are_plain_text():
    assert plain("<b>") == "&lt;b&gt;"
    assert plain(" ") == "␣" and plain("\n") == "↵"
    fig = weight_figure("W_i", RNN.create(len(TOKENS), 4).W_i, list(TOKENS))
    assert "'&lt;'" in json.dumps(fig.to_dict()) and "'<'" not in json.dumps(fig.to_dict())
