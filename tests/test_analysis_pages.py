"""AppTest of the BPTT, hidden-state space and neuron atlas pages: the numbers are the core's."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from figures.atlas import text_layout
from rnn import RNN, Vocab, load_checkpoint
from rnn.analysis import (
    fit_pca,
    jacobian_chain,
    neuron_report,
    reference_text,
    step_gradients,
    text_features,
)
from session.shelf import ModelEntry, Shelf
from tests.conftest import REPO, TIMEOUT_S, errors, open_app
from tests.conftest import plotly_array as _arr
from ui import state
from ui.widgets import DEFAULT_TEXT


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(REPO / "pages" / f"{name}.py"), default_timeout=TIMEOUT_S)


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, errors(at)
    return at


def _shown(at: AppTest) -> tuple[str, ModelEntry]:
    """The key the sidebar's model picker shows, and that model."""
    key = at.selectbox(key="model_picker").value
    return key, state.shelf(at.session_state)[key]


def _fig(at: AppTest, key: str) -> dict:
    """The plotly figure dict of the chart with widget key ``key``."""
    for el in at.get("plotly_chart"):
        if el.proto.id.endswith(f"-{key}"):
            return json.loads(el.proto.spec)
    raise AssertionError(f"no plotly chart with key {key!r}")


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _trace(fig: dict, name: str) -> dict:
    return next(d for d in fig["data"] if d.get("name") == name)


@pytest.fixture(scope="module")
def english():
    model, vocab, meta = load_checkpoint(REPO / "models" / "english.npz")
    return model, vocab, meta


def _tiny_entry() -> ModelEntry:
    """A small untrained model that names no built-in corpus."""
    vocab = Vocab.build("abcdefgh ijklmnop.")
    model = RNN.create(vocab.size, 6, seed=2, init_std=0.5)
    return ModelEntry("tiny", "Tiny (untrained)", model, vocab, source="trained")


# -- backprop through time ---------------------------------------------------------------


def _bptt_core(model, vocab, text, t=None):
    ids = vocab.encode(text)
    x, y = ids[:-1], ids[1:]
    trace = model.forward(x)
    t = len(x) - 1 if t is None else t
    return step_gradients(model, trace, y, t), jacobian_chain(model, trace, t), len(x)


def test_bptt_shows_the_core_gradients(english):
    model, vocab, _ = english
    at = _run(_page("bptt"))
    g, chain, T = _bptt_core(model, vocab, DEFAULT_TEXT)
    t = T - 1
    assert at.slider(key="bptt_t").value == t
    m = _metrics(at)
    assert m[f"Loss L_{t}"] == f"{g.loss:.3f} nats"
    assert m["Spectral radius of W_h"] == f"{model.spectral_radius():.3f}"
    assert m[f"Saturated neurons at t={t}"] == f"{chain.saturated[t]:.0%}"
    norms = g.norms()
    decay = _fig(at, "bptt_decay_fig")
    dh_line = _trace(decay, "‖dL_t/dh_k‖")
    assert _arr(dh_line["x"]).tolist() == list(range(t, -1, -1))  # distance t - k for k = 0..t
    assert_allclose(_arr(dh_line["y"]), norms["dh"], rtol=1e-9)
    dx_line = next(d for d in decay["data"] if d["name"].startswith("‖dL_t/dx_k‖"))
    assert_allclose(_arr(dx_line["y"]), norms["dx"], rtol=1e-9)
    jac = next(d for d in decay["data"] if "Jacobian" in d["name"])
    assert_allclose(_arr(jac["y"]), chain.frobenius, rtol=1e-9)
    # The text view colours input token k by log10 ||dL_t/dx_k|| at its place in the grid.
    tokens = list(DEFAULT_TEXT[:-1])
    rows, cols = text_layout(tokens)
    z = _arr(_fig(at, "bptt_text_fig")["data"][0]["z"])
    assert_allclose(z[rows, cols], np.log10(norms["dx"]), rtol=1e-9)
    # The (T, T) matrix: row t is the same curve.
    mat = _arr(_fig(at, "bptt_matrix_fig")["data"][0]["z"])
    assert_allclose(mat[t, : t + 1], np.log10(norms["dh"]), rtol=1e-9)
    assert np.all(np.isnan(mat[np.triu_indices(T, 1)]))


def test_bptt_step_slider_moves_the_loss(english):
    model, vocab, _ = english
    at = _run(_page("bptt"))
    at.slider(key="bptt_t").set_value(10)
    _run(at)
    g, chain, _ = _bptt_core(model, vocab, DEFAULT_TEXT, t=10)
    assert _metrics(at)["Loss L_10"] == f"{g.loss:.3f} nats"
    dh_line = _trace(_fig(at, "bptt_decay_fig"), "‖dL_t/dh_k‖")
    assert_allclose(_arr(dh_line["y"]), g.norms()["dh"], rtol=1e-9)


def test_bptt_scale_registers_a_scaled_copy(english):
    model, vocab, _ = english
    at = _run(_page("bptt"))
    at.select_slider(key="bptt_scale").set_value(1.5)
    _run(at)
    key, entry = _shown(at)
    assert key == "english-x1.5"
    assert entry.source == "scaled" and entry.base_key == "english" and entry.scale == 1.5
    assert_allclose(entry.model.W_h, 1.5 * model.W_h)
    assert_allclose(state.shelf(at.session_state)["english"].model.W_h, model.W_h, rtol=0,
                    atol=0)
    assert _metrics(at)["Spectral radius of W_h"] == f"{1.5 * model.spectral_radius():.3f}"
    g, _, _ = _bptt_core(entry.model, vocab, DEFAULT_TEXT)
    dh_line = _trace(_fig(at, "bptt_decay_fig"), "‖dL_t/dh_k‖")
    assert_allclose(_arr(dh_line["y"]), g.norms()["dh"], rtol=1e-9)
    # The sidebar picker follows, and back at 1.0 the original is current again.
    _run(at)
    assert at.selectbox(key="model_picker").value == "english-x1.5"
    at.select_slider(key="bptt_scale").set_value(1.0)
    _run(at)
    assert _shown(at)[0] == "english"
    # Picking the scaled copy again brings its scale back to the slider.
    at.selectbox(key="model_picker").set_value("english-x1.5")
    _run(at)
    assert at.select_slider(key="bptt_scale").value == 1.5


def test_bptt_smaller_scale_vanishes_faster(english):
    at = _run(_page("bptt"))
    ratios = []
    for scale in (0.5, 1.0):
        at.select_slider(key="bptt_scale").set_value(scale)
        _run(at)
        y = _arr(_trace(_fig(at, "bptt_decay_fig"), "‖dL_t/dh_k‖")["y"])
        ratios.append(y[0] / y[-1])
    assert ratios[0] < ratios[1]


@pytest.mark.parametrize("page", ["bptt", "space"])
def test_bad_text_is_handled(page):
    at = _run(_page(page))
    at.text_input(key="text").input("")
    _run(at)
    assert any("Type a sentence" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.text_input(key="text").input("x" * 700)
    _run(at)
    assert any("first 500" in i.value for i in at.info)
    at.text_input(key="text").input("Ça coûte 5€ ~")
    _run(at)
    notice = " ".join(c.value for c in at.caption)
    assert "Not in the model's vocabulary" in notice and "€" in notice


def test_bptt_one_character_is_explained():
    at = _run(_page("bptt"))
    at.text_input(key="text").input("a")
    _run(at)
    assert any("at least 2" in i.value for i in at.info)


# -- hidden-state space --------------------------------------------------------------------


def test_space_projection_equals_core_pca(english):
    model, vocab, meta = english
    at = _run(_page("space"))
    ref, _ = reference_text(meta["corpus"], 5000)
    pca = fit_pca(model.forward(vocab.encode(ref)).h, 10)
    z = pca.project(model.forward(vocab.encode(DEFAULT_TEXT)).h)
    fig = _fig(at, "space_fig")
    path = _trace(fig, "your text")
    assert_allclose(_arr(path["x"]), z[:, 0], rtol=1e-8, atol=1e-10)
    assert_allclose(_arr(path["y"]), z[:, 1], rtol=1e-8, atol=1e-10)
    assert path["text"][:3] == ["T", "h", "e"]
    m = _metrics(at)
    r = pca.explained_variance_ratio
    assert m["PC1 explains"] == f"{r[0]:.1%}" and m["First 2 together"] == f"{r[:2].sum():.1%}"
    assert len(fig["frames"]) == len(DEFAULT_TEXT)
    var = _fig(at, "space_var_fig")
    assert_allclose(_arr(var["data"][0]["y"]), r, rtol=1e-9)
    # The step slider moves the marked point.
    at.slider(key="space_t").set_value(5)
    _run(at)
    now = _trace(_fig(at, "space_fig"), "now")
    assert_allclose([_arr(now["x"])[0], _arr(now["y"])[0]], z[5, :2], rtol=1e-8)
    # 3-D adds the third component.
    at.radio(key="space_dims").set_value(3)
    _run(at)
    path = _trace(_fig(at, "space_fig"), "your text")
    assert path["type"] == "scatter3d"
    assert_allclose(_arr(path["z"]), z[:, 2], rtol=1e-8, atol=1e-10)


def test_space_without_a_corpus_fits_on_the_text():
    at = _page("space")
    entry = _tiny_entry()
    at.session_state[state.SHELF] = Shelf({"tiny": entry})  # this session's only model
    at.session_state["text"] = "abc defg hij."  # the text box's value
    _run(at)
    pca = fit_pca(entry.model.forward(entry.vocab.encode("abc defg hij.")).h, 10)
    path = _trace(_fig(at, "space_fig"), "your text")
    z = pca.project(entry.model.forward(entry.vocab.encode("abc defg hij.")).h)
    assert_allclose(np.abs(_arr(path["x"])), np.abs(z[:, 0]), rtol=1e-8, atol=1e-10)
    assert any("your text" in c.value for c in at.caption)


# -- neuron atlas ----------------------------------------------------------------------------


def test_atlas_sorts_units_and_shows_their_numbers(english):
    model, vocab, meta = english
    at = _run(_page("atlas"))
    text, _ = reference_text(meta["corpus"], 2000)
    enc = vocab.encode_report(text)
    h = model.forward(enc.ids).h
    rep = neuron_report(h, text_features(enc.tokens))
    box = at.selectbox(key="atlas_unit")
    assert [int(o.split(":")[0].split()[1]) for o in box.options] == rep.order.tolist()
    first = int(rep.order[0])
    assert box.value == first
    m = _metrics(at)
    assert m["Best feature"] == rep.feature_names[rep.best_feature[first]]
    assert m["Pearson r"] == f"{rep.best_r[first]:+.3f}"
    grid = _fig(at, "atlas_grid")["data"][0]
    assert _arr(grid["customdata"]).astype(int).tolist() == rep.order.tolist()
    assert_allclose(_arr(grid["marker"]["color"]), rep.best_r[rep.order], rtol=1e-9)
    # Pick another neuron: its activations colour the text and its r values fill the bars.
    neuron = int(rep.order[5])
    box.set_value(neuron)
    _run(at)
    rows, cols = text_layout(enc.tokens)
    z = _arr(_fig(at, "atlas_text_fig")["data"][0]["z"])
    assert_allclose(z[rows, cols], h[:, neuron], rtol=1e-9)
    bars = _fig(at, "atlas_bars_fig")["data"][0]
    by_name = dict(zip(bars["y"], _arr(bars["x"]), strict=True))
    for j, name in enumerate(rep.feature_names):
        assert by_name[name] == pytest.approx(rep.r[neuron, j], rel=1e-9)
    top = at.dataframe[0].value
    assert top["h"].iloc[0] == pytest.approx(round(h[:, neuron].max(), 3))


def test_atlas_grid_click_selects_a_unit():
    at = _run(_page("atlas"))
    at.session_state["atlas_grid"] = {"selection": {"points": [{"customdata": 7}]}}
    _run(at)
    assert at.selectbox(key="atlas_unit").value == 7
    assert at.subheader[0].value == "Neuron 7"


def test_atlas_own_text():
    at = _run(_page("atlas"))
    at.radio(key="atlas_source").set_value("own")
    _run(at)
    assert any("Paste some text" in i.value for i in at.info)
    at.text_area(key="atlas_text").input("(a [b] c) \"quoted\" and 'x' é\n" * 5)
    _run(at)
    assert any("é" in c.value for c in at.caption)
    assert at.selectbox(key="atlas_unit").value is not None


def test_bptt_untrained_model_vanishes_below_one_and_explodes_above():
    at = _run(_page("bptt"))
    at.button(key="bptt_untrained").click()
    _run(at)
    key, entry = _shown(at)
    assert key == "untrained-english"
    assert entry.source == "untrained" and not at.button  # no second "untrained" button
    kept = {}
    for scale in (0.5, 2.0):
        at.select_slider(key="bptt_scale").set_value(scale)
        _run(at)
        assert _shown(at)[0] == f"untrained-english-x{scale:g}"
        assert float(_metrics(at)["Spectral radius of W_h"]) == pytest.approx(
            scale * entry.model.spectral_radius(), abs=1e-3)
        y = _arr(_trace(_fig(at, "bptt_decay_fig"), "‖dL_t/dh_k‖")["y"])
        kept[scale] = y[0] / y[-1]  # ||dL_t/dh_0|| / ||dL_t/dh_t|| (y is indexed by k)
    assert kept[0.5] < 1e-6 and kept[2.0] > 1e2


def test_the_explorer_follows_the_scaled_model(english):
    """Through the app's navigation: a W_h scale set on the BPTT page is the Explorer's model."""
    model, _, _ = english
    at = open_app("pages/bptt.py")
    at.select_slider(key="bptt_scale").set_value(0.5)
    _run(at)
    at.switch_page("pages/explorer.py")
    _run(at)
    key, shown = _shown(at)
    assert key == "english-x0.5"
    assert_allclose(shown.model.W_h, 0.5 * model.W_h)
    # Back on the BPTT page the slider shows the current model's scale (not a reset to 1).
    at.switch_page("pages/bptt.py")
    _run(at)
    assert _shown(at)[0] == "english-x0.5"
    assert at.select_slider(key="bptt_scale").value == 0.5
