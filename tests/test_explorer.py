"""The explorer page, driven headless with AppTest: the numbers on screen are model.forward's."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import rnn.model
from figures.explorer import STEP_PANELS, UNKNOWN, top_k
from rnn import RNN, CheckpointError, Vocab, checkpoint_bytes, load_checkpoint
from session.shelf import entry_from_upload
from tests.conftest import REPO, open_app
from tests.conftest import plotly_array as decode
from ui.widgets import DEFAULT_TEXT, MAX_CHARS

PAGE = "pages/explorer.py"


# -- helpers --------------------------------------------------------------------------------

def open_explorer(**query) -> AppTest:
    return open_app(PAGE, query)


def charts(at: AppTest) -> dict[str, dict]:
    """Every plotly chart on screen by widget key, as the figure dict the browser gets."""
    return {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


def forward(model_key: str, text: str):
    model, vocab, _ = load_checkpoint(REPO / "models" / f"{model_key}.npz")
    enc = vocab.encode_report(text)
    return model, vocab, enc, model.forward(enc.ids)


def latex_numbers(at: AppTest) -> list[float]:
    """The numbers of the equation's numeric lines: W_i x, W_h h, b_h, a, h."""
    body = at.latex[0].value.split(r"\\", 1)[1]  # the lines after the symbolic one
    return [float(x) for x in re.findall(r"-?\d+\.\d+", _signed(body))]


def _signed(body: str) -> str:
    """Join '- 0.12' into '-0.12' and drop '+ ' so every number carries its own sign."""
    return re.sub(r"-\s+(\d)", r"-\1", body.replace("+ ", ""))


def step_of(at: AppTest) -> int:
    return int(at.session_state["step"])


# -- the page runs and shows the model's numbers ---------------------------------------------

def test_default_view():
    at = open_explorer()
    assert at.title[0].value == "Explorer"
    assert at.text_input(key="text").value == DEFAULT_TEXT
    assert at.slider(key="step").value == 0
    assert set(charts(at)) == {"explorer_strip", "explorer_grid", "explorer_pred",
                               "explorer_neuron_strip", "explorer_over_time"}
    assert "English" in at.markdown[0].value and "validation loss" in at.markdown[0].value
    assert dict(at.query_params) == {"text": DEFAULT_TEXT, "step": "0", "model": "english",
                                     "neuron": "0"}
    assert not at.warning and not at.error


@pytest.mark.parametrize("model_key", ["english", "brackets"])
def test_heatmaps_equal_model_forward(model_key):
    text = "([{}]) The keeper." if model_key == "brackets" else DEFAULT_TEXT
    at = open_explorer(model=model_key, text=text)
    at.button(key="next").click().run()
    at.button(key="next").click().run()
    at.number_input(key="neuron").set_value(7).run()
    assert step_of(at) == 2
    model, vocab, enc, trace = forward(model_key, text)
    t, j, H = 2, 7, model.hidden_size
    figs = charts(at)

    grids = {tr["name"]: tr for tr in figs["explorer_grid"]["data"] if tr["type"] == "heatmap"}
    want = {"Wi_x": trace.Wi_x[t], "Wh_h": trace.Wh_h[t], "b_h": model.b_h, "a": trace.a[t],
            "h": trace.h[t]}
    assert list(grids) == [key for key, _, _ in STEP_PANELS]
    for key, hm in grids.items():
        np.testing.assert_allclose(decode(hm["z"]).ravel()[:H], want[key], rtol=0, atol=1e-12)

    z = decode(figs["explorer_over_time"]["data"][0]["z"]).astype(float)
    np.testing.assert_allclose(z[:, : t + 1], trace.h[: t + 1].T, atol=1e-6)
    assert np.isnan(z[:, t + 1:]).all()

    bars = figs["explorer_pred"]["data"][0]
    ids = top_k(trace.probs[t], 10)
    np.testing.assert_allclose(decode(bars["x"])[:10], trace.probs[t, ids], atol=1e-12)

    strip = figs["explorer_neuron_strip"]["data"][0]["marker"]["color"]
    np.testing.assert_allclose(decode(strip).astype(float), trace.h[:, j], atol=1e-12)

    # the actual next token: its probability and -ln p, as printed
    nxt = int(enc.ids[t + 1])
    p = trace.probs[t, nxt]
    shown = next(m.value for m in at.markdown if "Next in your text" in m.value)
    assert f"p = {p:.4f}" in shown and f"**{-np.log(p):.3f}**" in shown


def test_equation_numbers_are_the_trace():
    at = open_explorer()
    at.slider(key="step").set_value(9).run()
    at.number_input(key="neuron").set_value(42).run()
    _, _, _, trace = forward("english", DEFAULT_TEXT)
    model = forward("english", DEFAULT_TEXT)[0]
    t, j = 9, 42
    src = at.latex[0].value
    assert f"h_{{{t}}}[{j}]" in src and rf"(W_h h_{{{t - 1}}})[{j}]" in src
    wi_x, wh_h, b_h, a, h = latex_numbers(at)
    assert wi_x == pytest.approx(trace.Wi_x[t, j], abs=5e-5)
    assert wh_h == pytest.approx(trace.Wh_h[t, j], abs=5e-5)
    assert b_h == pytest.approx(model.b_h[j], abs=5e-5)
    assert a == pytest.approx(trace.a[t, j], abs=5e-5)
    assert h == pytest.approx(trace.h[t, j], abs=5e-5)
    assert at.query_params["neuron"] == "42" and at.query_params["step"] == "9"


def test_typing_text_changes_view_and_url():
    at = open_explorer()
    at.slider(key="step").set_value(5).run()
    at.text_input(key="text").input("hello there").run()
    assert not at.exception
    assert step_of(at) == 0  # a new text starts at its beginning
    assert at.slider(key="step").max == len("hello there") - 1
    strip = charts(at)["explorer_strip"]["data"][0]
    assert strip["text"] == ["h", "e", "l", "l", "o", "␣", "t", "h", "e", "r", "e"]
    assert at.query_params["text"] == "hello there"


def test_buttons_and_slider_move_the_step():
    at = open_explorer()
    T = len(DEFAULT_TEXT)
    before = charts(at)["explorer_grid"]
    at.button(key="next").click().run()
    assert step_of(at) == 1 and at.query_params["step"] == "1"
    assert charts(at)["explorer_grid"] != before
    at.button(key="last").click().run()
    assert step_of(at) == T - 1
    at.button(key="next").click().run()
    assert step_of(at) == T - 1  # stays at the end
    assert any("last token" in c.value for c in at.caption)
    at.button(key="prev").click().run()
    assert step_of(at) == T - 2
    at.button(key="first").click().run()
    assert step_of(at) == 0
    at.button(key="prev").click().run()
    assert step_of(at) == 0


def test_trace_is_computed_once_per_text(monkeypatch):
    at = open_explorer()
    calls = []
    forward = rnn.model.RNN.forward

    def counted(self, ids, h0=None):
        calls.append(len(ids))
        return forward(self, ids, h0)

    monkeypatch.setattr(rnn.model.RNN, "forward", counted)
    at.button(key="next").click().run()
    at.number_input(key="neuron").set_value(3).run()
    assert calls == []  # stepping and picking a neuron read the kept trace
    at.text_input(key="text").input("another text").run()
    assert calls == [len("another text")]


def test_play_advances_and_pause_stops():
    at = open_explorer()
    at.session_state["explorer_speed"] = "fast"
    at.button(key="play").click().run()
    assert at.button(key="pause").label == "Pause"  # playing
    time.sleep(0.3)  # fast = 5 tokens/s
    at.run()
    assert step_of(at) >= 1
    at.button(key="pause").click().run()
    assert at.button(key="play").label == "Play"  # paused
    stopped = step_of(at)
    time.sleep(0.3)
    at.run()
    assert step_of(at) == stopped


def test_play_at_the_end_starts_over():
    at = open_explorer()
    at.button(key="last").click().run()
    at.button(key="play").click().run()
    assert step_of(at) == 0 and at.button(key="pause").label == "Pause"  # playing again


def test_weights_expander_shows_weights_and_spectral_radius():
    at = open_explorer()
    assert "explorer_W_h" not in charts(at)  # closed: not built
    at.session_state["explorer_weights"] = True
    at.run()
    model = forward("english", DEFAULT_TEXT)[0]
    figs = charts(at)
    for name in ("W_i", "W_h", "W_o"):
        np.testing.assert_allclose(decode(figs[f"explorer_{name}"]["data"][0]["z"]),
                                   getattr(model, name), atol=1e-12)
    assert at.metric[0].value == f"{model.spectral_radius():.3f}"


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\t \n"])
def test_empty_text_gets_a_prompt(text):
    at = open_explorer()
    at.text_input(key="text").input(text).run()
    assert not at.exception and not at.error
    assert any("Type a sentence" in i.value for i in at.info)
    assert not charts(at)


def test_long_text_is_cut_with_notice():
    at = open_explorer()
    long = ("the keeper climbed the stairs " * 30)[:900]
    at.text_input(key="text").input(long).run()
    assert not at.exception
    assert any("900 characters" in i.value and str(MAX_CHARS) in i.value for i in at.info)
    assert at.slider(key="step").max == MAX_CHARS - 1
    assert len(charts(at)["explorer_strip"]["data"][0]["text"]) == MAX_CHARS
    assert at.query_params["text"] == long[:MAX_CHARS]


def test_unknown_characters_are_shown_and_explained():
    at = open_explorer()
    text = "Crème brûlée € <b>x</b>"
    at.text_input(key="text").input(text).run()
    assert not at.exception
    _, vocab, enc, _ = forward("english", text)
    unknown = [i for i, _ in enc.unknown]
    assert unknown
    warning = " ".join(w.value for w in at.warning)
    for tok in enc.unknown_tokens:
        assert tok in warning
    strip = charts(at)["explorer_strip"]["data"][0]
    assert len(strip["text"]) == len(text)  # nothing dropped
    line = strip["marker"]["line"]["color"]
    assert all(line[i] == UNKNOWN for i in unknown if i != 0)
    assert "<" not in strip["text"] and "&lt;" in strip["text"]  # shown as text, not markup


def test_markdown_in_text_is_not_rendered():
    at = open_explorer()
    at.text_input(key="text").input("**bold** [x](http://e.com) $x$ <i>").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown) + " ".join(w.value for w in at.warning)
    assert "[x](http" not in shown and "<i>" not in shown


def test_link_reproduces_the_view():
    at = open_explorer(text="([{}])", step="3", model="brackets", neuron="11")
    assert not at.warning
    assert at.text_input(key="text").value == "([{}])"
    assert step_of(at) == 3 and at.number_input(key="neuron").value == 11
    assert at.selectbox(key="model_picker").value == "brackets"
    assert dict(at.query_params) == {"text": "([{}])", "step": "3", "model": "brackets",
                                     "neuron": "11"}


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"step": "999"}, "step “999”"),
        ({"step": "-1"}, "step “\\-1”"),
        ({"step": "two"}, "step “two”"),
        ({"neuron": "128"}, "neuron “128”"),
        ({"neuron": "1.5e9"}, "neuron “1\\.5e9”"),
        ({"model": "nope<script>"}, "model named “nope&lt;script\\>”"),
    ],
)
def test_bad_query_params_fall_back_with_notice(params, says):
    at = open_explorer(**params)
    assert not at.exception and not at.error
    notes = " ".join(w.value for w in at.warning)
    assert says in notes
    assert step_of(at) == 0 and at.number_input(key="neuron").value == 0
    assert at.query_params["model"] == "english"
    assert charts(at)  # the page still shows its view


def test_bad_upload_keeps_the_current_model():
    at = open_explorer()
    at.file_uploader(key="model_picker_upload").set_value(
        ("broken.npz", b"this is not a checkpoint", "application/octet-stream")).run()
    assert not at.exception
    assert any("not a checkpoint file" in e.value for e in at.error)
    assert at.selectbox(key="model_picker").value == "english"
    assert charts(at)


def test_good_upload_becomes_the_model():
    vocab = Vocab(("<unk>", " ", "a", "b"))
    model = RNN.create(vocab.size, 6, seed=3, init_std=0.5)
    data = checkpoint_bytes(model, vocab, title="tiny")
    at = open_explorer()
    at.file_uploader(key="model_picker_upload").set_value(
        ("tiny.npz", data, "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="model_picker").value == "upload-tiny"
    assert at.query_params["model"] == "upload-tiny"
    hm = next(tr for tr in charts(at)["explorer_grid"]["data"] if tr["name"] == "h")  # h_t
    enc = vocab.encode_report(DEFAULT_TEXT)
    np.testing.assert_allclose(decode(hm["z"]).ravel()[:6], model.forward(enc.ids).h[0],
                               atol=1e-12)


def test_entry_from_upload_rejects_bad_bytes():
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        entry_from_upload("x.npz", b"\x00\x01garbage")


def test_home_page_links_every_view():
    at = open_app()
    assert len(at.latex) == 4
    labels = {el.proto.label for el in at.get("page_link")}
    assert labels == {"Explorer", "Train live", "Backprop through time", "Hidden-state space",
                      "Neuron atlas"}
    assert all(el.proto.page_script_hash for el in at.get("page_link"))
