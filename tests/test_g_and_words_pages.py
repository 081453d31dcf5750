"""AppTest: the model's own g in every label, word-level models in every view, an imported
PyTorch model in the Explorer, and the Train page's activation and word vocabulary."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from rnn import RNN, CheckpointError, Vocab, load_checkpoint, load_corpus, pytorch_bytes
from rnn.analysis import gradient_decay
from rnn.safetensors import safetensors_bytes
from session.explorer import decode_payload
from session.shelf import entry_from_upload
from tests.conftest import REPO, errors, open_app, plotly_array, set_widget
from ui import state

LONG = "The incomprehensibilities of the keeper, the lamp and the sea."


def _on(page: str, model_key: str, text: str | None = None) -> AppTest:
    """The app on ``page`` with the built-in ``model_key`` as the current model."""
    at = open_app()
    assert state.shelf(at.session_state).select(model_key)
    if text is not None:
        at.session_state["text"] = text
    at.switch_page(page).run()
    assert not at.exception, errors(at)
    return at


def _charts(at: AppTest) -> dict[str, dict]:
    return {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


def _markdown(at: AppTest) -> str:
    return " ".join(str(m.value) for kind in ("markdown", "caption") for m in getattr(at, kind))


def _model(key: str):
    return load_checkpoint(REPO / "models" / f"{key}.npz")


# -- a word-level model in each page ---------------------------------------------------------


def _received(at: AppTest) -> tuple[dict, dict]:
    """What the Explorer's step view received: the header and the arrays."""
    (el,) = list(at.get("bidi_component"))
    return decode_payload(el.proto.bytes)


def test_word_model_in_the_explorer():
    at = _on("pages/explorer.py", "words", LONG)
    _, vocab, _ = _model("words")
    text = _markdown(at)
    assert "400 words" in text and "nats per word" in text
    header, _ = _received(at)
    assert header["tokens"] == vocab.encode_report(LONG).tokens  # one cell per word token
    assert header["unit"] == "word"
    assert header["g"] == {"name": "tanh", "label": "tanh", "rest": 0.0, "lo": -1.0, "hi": 1.0,
                           "z": 1.0}


@pytest.mark.parametrize("page", ["pages/bptt.py", "pages/space.py", "pages/atlas.py"])
def test_word_model_in_the_analysis_pages(page):
    at = _on(page, "words", LONG)
    if page == "pages/bptt.py":
        fig = _charts(at)["bptt_text_fig"]
        z = plotly_array(fig["data"][0]["z"]).astype(float)
        tokens = Vocab.build("x", "word").encode_report(LONG).tokens[:-1]
        assert z.shape[1] > len(tokens) / 2  # cells sized to the words, not one per token
        labels = sum((list(d["text"]) for d in fig["data"] if d["type"] == "scatter"), [])
        assert "incomprehen…" in labels
    if page == "pages/atlas.py":
        assert "position in a word" in _markdown(at)  # said to be left out
        names = {str(y) for fig in _charts(at).values() for d in fig["data"]
                 if d.get("type") == "bar" for y in d.get("y", [])}
        assert "word_length" in names and not names & {"vowel", "word_start", "after_space"}


# -- a ReLU model in the Explorer and the BPTT page --------------------------------------------


def test_relu_model_in_the_explorer():
    at = _on("pages/explorer.py", "g-relu", "The keeper climbed the stairs.")
    model, vocab, _ = _model("g-relu")
    trace = model.forward(vocab.encode("The keeper climbed the stairs."))
    header, arrays = _received(at)
    g = header["g"]
    assert (g["name"], g["label"], g["rest"], g["lo"]) == ("relu", "ReLU", 0.0, 0.0)
    assert g["hi"] == pytest.approx(float(trace.h.max())) == pytest.approx(g["z"])  # data range
    assert_allclose(arrays["h"], trace.h, rtol=0, atol=1e-6)
    assert "h = max(0, a)" in _markdown(at)


def test_relu_model_in_the_bptt_page():
    at = _on("pages/bptt.py", "g-relu", "The keeper climbed the stairs.")
    eq = at.latex[0].value
    assert r"\mathbf{1}[h_j > 0]" in eq and "1 - h" not in eq
    assert "g = relu" in _markdown(at)
    decay = _charts(at)["bptt_decay_fig"]
    names = [d.get("name", "") for d in decay["data"]]
    assert any("relu′" in n for n in names) and not any("tanh" in n for n in names)
    sat = next(m for m in at.metric if m.label.startswith("Saturated"))
    assert "h = 0" in sat.help


def test_bptt_compares_the_four_activations_on_the_same_text():
    text = "The keeper climbed the stairs to light the lamp."
    at = _on("pages/bptt.py", "english", text)
    fig = _charts(at)["bptt_compare_fig"]
    lines = {d["name"]: d for d in fig["data"] if d["type"] == "scatter"}
    bars = {d["x"][0]: d for d in fig["data"] if d["type"] == "bar"}
    assert set(lines) == {f"g = {g}" for g in ("tanh", "relu", "sigmoid", "identity")}
    for g in ("tanh", "sigmoid"):
        model, vocab, _ = _model(f"g-{g}")
        ids = vocab.encode(text)
        want = gradient_decay(model, model.forward(ids[:-1]), ids[1:], max_distance=40)
        got = np.array([np.nan if v is None else v for v in lines[f"g = {g}"]["y"]], float)
        assert_allclose(got, want.ratio, rtol=1e-9)
        assert plotly_array(bars[g]["y"])[0] == pytest.approx(want.loss, rel=1e-9)


# -- an imported PyTorch model in the Explorer --------------------------------------------------


def test_imported_pytorch_model_in_the_explorer():
    vocab = Vocab.build("the keeper climbed the stairs")
    model = RNN.create(vocab.size, 12, seed=4, init_std=0.5, activation="relu")
    data = pytorch_bytes(model, vocab)  # what torch.nn.RNN's state_dict looks like, saved
    at = open_app()
    state.shelf(at.session_state).add(entry_from_upload("mine.safetensors", data))
    at.session_state["text"] = "the keeper"
    at.switch_page("pages/explorer.py").run()
    assert not at.exception, errors(at)
    assert "PyTorch\\: mine" in _markdown(at) and "h = max(0, a)" in _markdown(at)
    header, arrays = _received(at)
    trace = model.forward(vocab.encode("the keeper"))
    assert_allclose(arrays["h"], trace.h, rtol=0, atol=1e-5 * max(1.0, np.abs(trace.h).max()))
    assert header["g"]["name"] == "relu" and header["V"] == vocab.size


def test_bad_safetensors_upload_is_refused_with_its_message():
    with pytest.raises(CheckpointError, match="more than one layer"):
        entry_from_upload("two.safetensors", safetensors_bytes(
            {"weight_ih_l0": np.zeros((2, 3)), "weight_hh_l0": np.zeros((2, 2)),
             "weight_ih_l1": np.zeros((2, 2)), "fc.weight": np.zeros((3, 2))},
            {"vocab": '["<unk>", "a", "b"]'}))


# -- Home and the Train page ------------------------------------------------------------------


def test_home_shows_the_chosen_g():
    at = open_app()
    at.segmented_control(key="home_g").set_value("sigmoid").run()
    assert not at.exception, errors(at)
    assert any(r"\sigma(a_t)" in e.value for e in at.latex)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [d["name"] for d in spec["data"]] == ["h = σ(a)", "slope h (1 − h)"]
    assert "1/4" in _markdown(at)


def test_train_page_offers_g_and_a_capped_word_vocabulary():
    at = open_app("pages/train.py")
    for key, value in (("train_hidden", 16), ("train_seq_len", 10), ("train_level", "word"),
                       ("train_max_vocab", 200), ("train_activation", "relu")):
        set_widget(at, key, value)
    text = _markdown(at)
    assert "is <unk>" in text and "vocabulary 200 tokens" in text
    for b in at.button:
        if b.key == "train_confirm":
            b.click().run()
    run = state.train_run(at.session_state)
    cfg = run.trainer.config
    assert (cfg.level, cfg.max_vocab, cfg.activation) == ("word", 200, "relu")
    assert run.trainer.vocab.size == 200 and run.trainer.model.activation == "relu"
    ids = run.trainer.vocab.encode(load_corpus("english"))
    assert f"{float(np.mean(ids == 0)):.1%} of the text is <unk>" in text
