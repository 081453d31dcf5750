"""The explorer page, driven headless with AppTest: the step view gets model.forward's numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_cache import populate_hash_if_needed
from streamlit.testing.v1 import AppTest

import rnn.model
from rnn import RNN, CheckpointError, Vocab, checkpoint_bytes, load_checkpoint
from session.explorer import decode_payload
from session.shelf import entry_from_upload
from tests.conftest import REPO, open_app
from tests.conftest import plotly_array as decode
from ui import state
from ui.widgets import DEFAULT_TEXT, MAX_CHARS

PAGE = "pages/explorer.py"


# -- helpers --------------------------------------------------------------------------------

def open_explorer(**query) -> AppTest:
    return open_app(PAGE, query)


def charts(at: AppTest) -> dict[str, dict]:
    """Every plotly chart on screen by widget key, as the figure dict the browser gets."""
    return {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


def step_views(at: AppTest) -> list:
    return list(at.get("bidi_component"))


def received(at: AppTest) -> tuple[dict, dict[str, np.ndarray]]:
    """What the step view component received: the header (with the view) and the arrays."""
    (el,) = step_views(at)
    assert el.proto.WhichOneof("data") == "bytes"  # packed, not JSON lists of floats
    return decode_payload(el.proto.bytes)


def forward(model_key: str, text: str):
    model, vocab, _ = load_checkpoint(REPO / "models" / f"{model_key}.npz")
    enc = vocab.encode_report(text)
    return model, vocab, enc, model.forward(enc.ids)


def assert_trace_received(at: AppTest, model: RNN, vocab: Vocab, text: str) -> None:
    """The component's arrays are model.forward's over text (float32), its tokens the text's."""
    header, arrays = received(at)
    enc = vocab.encode_report(text)
    trace = model.forward(enc.ids)
    assert header["tokens"] == enc.tokens and header["H"] == model.hidden_size
    for name in ("Wi_x", "Wh_h", "a", "h"):
        np.testing.assert_array_equal(arrays[name], getattr(trace, name).astype(np.float32))
    np.testing.assert_array_equal(arrays["W_h"], model.W_h.astype(np.float32))
    np.testing.assert_array_equal(arrays["b_h"], model.b_h.astype(np.float32))
    t = len(enc.ids) // 2
    np.testing.assert_array_equal(arrays["top_p"][t],
                                  np.sort(trace.probs[t])[::-1][:10].astype(np.float32))


def step_of(at: AppTest) -> int:
    return int(at.session_state["step"])


# -- the page runs and sends the model's numbers ---------------------------------------------

def test_default_view():
    at = open_explorer()
    assert at.title[0].value == "Explorer"
    assert at.text_input(key="text").value == DEFAULT_TEXT
    assert step_of(at) == 0 and int(at.session_state["neuron"]) == 0
    assert not charts(at)  # the step view is not plotly any more
    header, _ = received(at)
    assert header["view"]["step"] == 0 and header["view"]["neuron"] == 0
    assert header["view"]["colour"] == "own"  # each term its own scale: the readable default
    assert header["T"] == len(DEFAULT_TEXT)
    assert "English" in at.markdown[0].value and "validation loss" in at.markdown[0].value
    assert dict(at.query_params) == {"text": DEFAULT_TEXT, "step": "0", "model": "english",
                                     "neuron": "0", "colour": "own", "speed": "2.5"}
    assert header["view"]["speed"] == 2.5
    assert not at.get("button_group")  # the colour mode is the step view's own control
    assert not at.warning and not at.error


@pytest.mark.parametrize("model_key", ["english", "brackets"])
def test_step_view_receives_model_forward(model_key):
    text = "([{}]) The keeper." if model_key == "brackets" else DEFAULT_TEXT
    at = open_explorer(model=model_key, text=text)
    model, vocab, _, _ = forward(model_key, text)
    assert_trace_received(at, model, vocab, text)


def test_the_step_and_neuron_can_be_read_and_set():
    at = open_explorer()
    seq = received(at)[0]["view"]["seq"]
    at.session_state["step"] = 9
    at.session_state["neuron"] = 42
    at.run()
    assert not at.exception
    view = received(at)[0]["view"]
    assert (view["step"], view["neuron"]) == (9, 42)
    assert view["seq"] > seq  # the browser takes a view the server moved
    assert at.query_params["step"] == "9" and at.query_params["neuron"] == "42"
    at.session_state["step"] = 10_000  # clamped to the text
    at.run()
    assert step_of(at) == len(DEFAULT_TEXT) - 1


def test_a_rerun_keeps_the_trace_and_the_view(monkeypatch):
    at = open_explorer()
    calls = []
    forward_ = rnn.model.RNN.forward

    def counted(self, ids, h0=None):
        calls.append(len(ids))
        return forward_(self, ids, h0)

    monkeypatch.setattr(rnn.model.RNN, "forward", counted)
    before = received(at)
    at.session_state["explorer_weights"] = True  # any rerun that is not a text or model change
    at.run()
    at.session_state["step"] = 4  # a step moved by the server: sent again, not computed again
    at.run()
    assert calls == []  # model.forward ran once, for the first run
    after = received(at)
    assert after[0]["trace_id"] == before[0]["trace_id"] and after[0]["view"]["step"] == 4
    at.text_input(key="text").input("another text").run()
    assert calls == [len("another text")]


def element_message(el) -> ForwardMsg:
    """The step view's element as Streamlit sends it, hashed by Streamlit's own rule."""
    msg = ForwardMsg()
    msg.delta.new_element.bidi_component.CopyFrom(el.proto)
    populate_hash_if_needed(msg)
    return msg


def report(at: AppTest, step: int, neuron: int, colour: str = "own", speed: float = 2.5) -> None:
    """What a report of the step view does (its callback, then the rerun), without a browser."""
    header, _ = received(at)
    at.session_state[state.EXPLORER_VIEW].from_browser(step, neuron, colour, speed,
                                                       header["T"], header["H"])
    at.session_state["step"], at.session_state["neuron"] = step, neuron
    at.session_state["explorer_colour"], at.session_state["explorer_speed"] = colour, speed
    at.run()
    assert not at.exception


def test_a_report_rerun_sends_a_reference_not_the_trace():
    at = open_explorer()
    (el,) = step_views(at)
    first = element_message(el)
    assert first.metadata.cacheable  # held by the browser, sent again as a reference
    header, _ = received(at)
    # the browser reports step 7 and neuron 9 (what take_browser_view does with the report)
    report(at, step=7, neuron=9)
    assert at.query_params["step"] == "7" and at.query_params["neuron"] == "9"
    (el,) = step_views(at)
    assert element_message(el).hash == first.hash  # the same element: no trace bytes again
    # the other colour mode and another speed, chosen in the browser: no trace bytes either
    report(at, step=7, neuron=9, colour="shared", speed=10)
    assert at.query_params["colour"] == "shared" and at.query_params["speed"] == "10"
    (el,) = step_views(at)
    assert element_message(el).hash == first.hash
    assert received(at)[0]["view"]["colour"] == "own"  # as the server last moved it
    at.session_state["step"] = 2  # the server moves the view: the browser must hear of it
    at.run()
    (el,) = step_views(at)
    assert element_message(el).hash != first.hash and received(at)[0]["view"]["step"] == 2


def test_typing_text_changes_view_and_url():
    at = open_explorer()
    at.session_state["step"] = 5
    at.run()
    at.text_input(key="text").input("hello there").run()
    assert not at.exception
    assert step_of(at) == 0  # a new text starts at its beginning
    header, _ = received(at)
    assert header["view"]["step"] == 0 and header["T"] == len("hello there")
    assert header["tokens"] == list("hello there")
    assert at.query_params["text"] == "hello there"


def test_colour_modes_and_speed_follow_the_session_and_the_url():
    at = open_explorer()
    header, arrays = received(at)
    seq = header["view"]["seq"]
    # both colour modes' ranges travel with the trace: the browser switches without the server
    scales = header["scales"]
    assert scales["shared"] >= scales["b_h"] and scales["Wi_x"] < scales["shared"]
    assert scales["Wi_x"] == pytest.approx(float(np.percentile(np.abs(arrays["Wi_x"]), 99)))
    assert header["colour_modes"] == [["own", "each term its own scale"],
                                      ["shared", "one scale for all terms"]]
    assert header["speeds"] == [1.0, 2.5, 5.0, 10.0]
    # set by the server (as a link does): the browser is told, with a new seq
    at.session_state["explorer_colour"] = "shared"
    at.session_state["explorer_speed"] = 5.0
    at.run()
    view = received(at)[0]["view"]
    assert (view["colour"], view["speed"]) == ("shared", 5.0) and view["seq"] > seq
    assert at.query_params["colour"] == "shared" and at.query_params["speed"] == "5"
    # nonsense in the session falls back to the defaults
    at.session_state["explorer_colour"] = "pink"
    at.session_state["explorer_speed"] = 7
    at.run()
    view = received(at)[0]["view"]
    assert (view["colour"], view["speed"]) == ("own", 2.5)
    assert at.query_params["colour"] == "own" and at.query_params["speed"] == "2.5"


def test_colour_and_speed_survive_another_page():
    at = open_explorer(colour="shared", speed="10")
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    view = received(at)[0]["view"]
    assert (view["colour"], view["speed"]) == ("shared", 10.0)
    assert at.query_params["colour"] == "shared" and at.query_params["speed"] == "10"


def test_a_model_trained_here_is_explored_with_its_own_numbers():
    at = open_app("pages/train.py")
    at.number_input(key="train_hidden").set_value(16).run()
    for _ in range(3):
        at.button(key="train_step").click().run()
    at.button(key="train_explore").click().run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    entry = state.shelf(at.session_state)["trained"]
    assert at.selectbox(key="model_picker").value == "trained" and entry.model.hidden_size == 16
    assert_trace_received(at, entry.model, entry.vocab, at.text_input(key="text").value)


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
    assert not step_views(at)


def test_long_text_is_cut_with_notice():
    at = open_explorer()
    long = ("the keeper climbed the stairs " * 30)[:900]
    at.text_input(key="text").input(long).run()
    assert not at.exception
    assert any("900 characters" in i.value and str(MAX_CHARS) in i.value for i in at.info)
    header, arrays = received(at)
    assert header["T"] == MAX_CHARS and arrays["h"].shape[0] == MAX_CHARS
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
    header, _ = received(at)
    assert header["tokens"] == list(text)  # nothing dropped; the browser writes them as text
    assert header["unknown"] == unknown  # outlined in red there
    assert all(header["ids"][i] == 0 for i in unknown)


def test_markdown_in_text_is_not_rendered():
    at = open_explorer()
    at.text_input(key="text").input("**bold** [x](http://e.com) $x$ <i>").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown) + " ".join(w.value for w in at.warning)
    assert "[x](http" not in shown and "<i>" not in shown


def test_link_reproduces_the_view():
    at = open_explorer(text="([{}])", step="3", model="brackets", neuron="11", colour="shared",
                       speed="10")
    assert not at.warning
    assert at.text_input(key="text").value == "([{}])"
    assert step_of(at) == 3 and int(at.session_state["neuron"]) == 11
    view = received(at)[0]["view"]
    assert (view["step"], view["neuron"]) == (3, 11)
    assert at.selectbox(key="model_picker").value == "brackets"
    assert dict(at.query_params) == {"text": "([{}])", "step": "3", "model": "brackets",
                                     "neuron": "11", "colour": "shared", "speed": "10"}
    assert (view["colour"], view["speed"]) == ("shared", 10.0)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"step": "999"}, "step “999”"),
        ({"step": "-1"}, "step “\\-1”"),
        ({"step": "two"}, "step “two”"),
        ({"neuron": "128"}, "neuron “128”"),
        ({"neuron": "1.5e9"}, "neuron “1\\.5e9”"),
        ({"model": "nope<script>"}, "model named “nope\\<script\\>”"),
        ({"colour": "pink"}, "colours “pink”"),
        ({"colour": "Shared"}, "colours “Shared”"),
        ({"speed": "3"}, "speed “3”"),
        ({"speed": "fast"}, "speed “fast”"),
        ({"speed": "nan"}, "speed “nan”"),
        ({"speed": "-10"}, "speed “\\-10”"),
    ],
)
def test_bad_query_params_fall_back_with_notice(params, says):
    at = open_explorer(**params)
    assert not at.exception and not at.error
    notes = " ".join(w.value for w in at.warning)
    assert says in notes
    assert step_of(at) == 0 and int(at.session_state["neuron"]) == 0
    assert at.query_params["model"] == "english"
    view = received(at)[0]["view"]
    assert (view["colour"], view["speed"]) == ("own", 2.5)  # the defaults, and so is the URL
    assert (at.query_params["colour"], at.query_params["speed"]) == ("own", "2.5")
    assert step_views(at)  # the page still shows its view


def test_bad_upload_keeps_the_current_model():
    at = open_explorer()
    at.file_uploader(key="model_picker_upload").set_value(
        ("broken.npz", b"this is not a checkpoint", "application/octet-stream")).run()
    assert not at.exception
    assert any("not a checkpoint file" in e.value for e in at.error)
    assert at.selectbox(key="model_picker").value == "english"
    assert step_views(at)


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
    assert_trace_received(at, model, vocab, DEFAULT_TEXT)


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
