"""The step view's payload: every number the browser gets is model.forward's; the view's rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from figures.style import SIGNED_STOPS
from rnn import RNN, TrainConfig, Trainer, Vocab, display_token, load_checkpoint
from session.explorer import (
    COLOUR_HELP,
    COLOUR_MODES,
    DEFAULT_COLOUR,
    DEFAULT_SPEED,
    SPEEDS,
    TOP_K,
    ExplorerView,
    build_step_trace,
    colour_range,
    decode_payload,
    speed_of,
)

MODELS = Path(__file__).resolve().parents[1] / "models"
TEXTS = {"english": "The keeper climbed the stairs, é!", "brackets": "([{}]) (x)"}


def model_and_text(key: str) -> tuple[RNN, Vocab, str]:
    """A shipped model, or one trained here as the Train page does (a few steps, float32)."""
    if key == "trained":
        corpus = "the lamp and the keeper and the stairs. " * 20
        trainer = Trainer(corpus, TrainConfig(hidden_size=12, seq_len=10, batch_size=4, seed=3))
        trainer.train(20)
        return trainer.model, trainer.vocab, "the keeper zz"
    model, vocab, _ = load_checkpoint(MODELS / f"{key}.npz")
    return model, vocab, TEXTS[key]


@pytest.mark.parametrize("key", ["english", "brackets", "trained"])
def test_payload_equals_model_forward(key):
    model, vocab, text = model_and_text(key)
    run = build_step_trace(key, model, vocab, text, SIGNED_STOPS)
    header, arrays = decode_payload(run.payload(3, 5, "own", 2.5, 7))
    enc = vocab.encode_report(text)
    trace = model.forward(enc.ids)  # computed again here, independently of the page's cache
    T, H, V = len(enc.ids), model.hidden_size, vocab.size
    f32 = np.float32

    assert (header["T"], header["H"], header["V"]) == (T, H, V)
    assert header["view"] == {"step": 3, "neuron": 5, "colour": "own", "speed": 2.5, "seq": 7}
    assert header["tokens"] == enc.tokens and header["ids"] == enc.ids.tolist()
    assert header["shown"] == [display_token(t) for t in enc.tokens]  # as every page shows them
    assert header["vocab_shown"] == [display_token(t) for t in vocab.tokens]
    assert header["unknown"] == [i for i, _ in enc.unknown]
    assert header["vocab"] == list(vocab.tokens)
    for name in ("Wi_x", "Wh_h", "a", "h"):
        assert arrays[name].shape == (T, H)
        np.testing.assert_array_equal(arrays[name], getattr(trace, name).astype(f32), err_msg=name)
    np.testing.assert_array_equal(arrays["h0"], trace.h0.astype(f32))
    np.testing.assert_array_equal(arrays["b_h"], model.b_h.astype(f32))
    np.testing.assert_array_equal(arrays["W_h"], model.W_h.astype(f32))

    # the top-10 guesses at every step, most likely first, and the actual next token's p and -ln p
    k = min(TOP_K, V)
    for t in range(T):
        ids = arrays["top_ids"][t]
        assert len(set(ids.tolist())) == k
        np.testing.assert_array_equal(arrays["top_p"][t], trace.probs[t, ids].astype(f32))
        assert np.all(np.diff(trace.probs[t, ids]) <= 0)
        assert trace.probs[t, ids[-1]] >= np.sort(trace.probs[t])[-k]
    p = trace.probs[np.arange(T - 1), enc.ids[1:]]
    np.testing.assert_array_equal(arrays["next_p"][:-1], p.astype(f32))
    np.testing.assert_array_equal(arrays["next_loss"][:-1],
                                  trace.step_loss(enc.ids[1:]).astype(f32))
    np.testing.assert_allclose(arrays["next_loss"][:-1], -np.log(p), rtol=1e-6)
    assert np.isnan(arrays["next_p"][-1])
    assert header["mean_loss"] == pytest.approx(float(np.mean(-np.log(p))), rel=1e-6)

    # the memory term, unit by unit, sums to the Trace's W_h h_{t-1}
    h_prev = trace.h_prev
    for t in (0, T // 2, T - 1):
        for j in (0, H - 1):
            parts = arrays["W_h"][j].astype(float) * np.concatenate(
                [arrays["h0"][None], arrays["h"][:-1]])[t]
            assert parts.sum() == pytest.approx(trace.Wh_h[t, j], abs=1e-5)
            np.testing.assert_allclose(parts, model.W_h[j] * h_prev[t], atol=1e-6)


def test_payload_is_compact():
    model, vocab, _ = load_checkpoint(MODELS / "english.npz")
    text = "The keeper climbed the stairs to light the lamp. " * 10  # 490 characters
    run = build_step_trace("english", model, vocab, text, SIGNED_STOPS)
    T, H = run.T, run.H
    floats = 4 * T * H + 2 * H + H * H + 2 * T * TOP_K + 2 * T
    assert len(run.blob) <= 4 * floats + 8 * 11  # raw float32, at most 8 bytes of padding each
    assert len(run.payload(0, 0, "own", 2.5, 0)) < len(run.blob) + 12_000  # the header is small


def test_colour_ranges():
    a = np.concatenate([np.ones(99), [100.0]])
    assert colour_range(a, q=100) == 100.0
    assert colour_range(a, q=50) == 1.0
    assert colour_range(np.zeros(3)) == 1.0
    model, vocab, _ = load_checkpoint(MODELS / "english.npz")
    run = build_step_trace("english", model, vocab, "The lamp.", SIGNED_STOPS)
    scales = run.meta["scales"]
    tr = run.trace
    assert scales["Wi_x"] == pytest.approx(colour_range(tr.Wi_x.astype(np.float32)))
    assert scales["Wh_h"] == pytest.approx(colour_range(tr.Wh_h.astype(np.float32)))
    assert scales["shared"] >= min(scales[k] for k in ("Wi_x", "Wh_h", "b_h", "a"))
    assert run.meta["stops"] == [[float(p), c] for p, c in SIGNED_STOPS]


def test_the_same_trace_has_the_same_id():
    model, vocab, _ = load_checkpoint(MODELS / "brackets.npz")
    a = build_step_trace("brackets", model, vocab, "(())", SIGNED_STOPS)
    b = build_step_trace("brackets", model, vocab, "(())", SIGNED_STOPS)
    c = build_step_trace("brackets", model, vocab, "(()]", SIGNED_STOPS)
    assert a.meta["trace_id"] == b.meta["trace_id"] != c.meta["trace_id"]


# -- the view's rules ----------------------------------------------------------------------

OWN, SLOW = DEFAULT_COLOUR, DEFAULT_SPEED


def test_view_follows_the_server_and_bumps_seq():
    view = ExplorerView()
    assert (view.colour, view.speed) == (DEFAULT_COLOUR, DEFAULT_SPEED) == ("own", 2.5)
    view.follow(4, 9, OWN, SLOW, T=10, H=16, shown=("m", "text"))  # a link
    assert (view.step, view.neuron, view.seq) == (4, 9, 1)
    view.follow(4, 9, OWN, SLOW, T=10, H=16, shown=("m", "text"))  # nothing moved
    assert view.seq == 1
    view.follow(7, 9, OWN, SLOW, T=10, H=16, shown=("m", "text"))  # e.g. a test set the step
    assert (view.step, view.seq) == (7, 2)
    view.follow(7, 9, "shared", 10, T=10, H=16, shown=("m", "text"))  # a link's colours, speed
    assert (view.colour, view.speed, view.seq) == ("shared", 10.0, 3)
    view.follow(99, -3, "pink", 3, T=10, H=16, shown=("m", "text"))  # clamped, defaults
    assert (view.step, view.neuron, view.colour, view.speed) == (9, 0, OWN, SLOW)


def test_a_new_text_starts_at_step_zero_a_new_model_keeps_the_step():
    view = ExplorerView()
    view.follow(5, 2, OWN, SLOW, T=10, H=16, shown=("m", "one text"))
    view.follow(5, 2, OWN, SLOW, T=10, H=16, shown=("other", "one text"))
    assert view.step == 5 and view.seq == 2
    view.follow(5, 2, OWN, SLOW, T=10, H=16, shown=("other", "two text"))
    assert view.step == 0 and view.seq == 3


def test_browser_reports_do_not_bump_seq():
    view = ExplorerView()
    view.follow(0, 0, OWN, SLOW, T=10, H=16, shown=("m", "t"))
    assert view.from_browser(6, 3, OWN, SLOW, T=10, H=16) is True
    assert (view.step, view.neuron, view.seq) == (6, 3, 1)
    view.follow(6, 3, OWN, SLOW, T=10, H=16, shown=("m", "t"))  # the next run sees the same
    assert view.seq == 1
    assert view.from_browser(6, 3, "shared", 10, T=10, H=16) is True  # colours and speed alone
    assert (view.colour, view.speed, view.seq) == ("shared", 10.0, 1)
    # junk is ignored, part by part
    assert view.from_browser("x", None, ["own"], "fast", T=10, H=16) is False
    assert view.from_browser(1, 2, "pink", float("nan"), T=10, H=16) is True
    assert (view.step, view.neuron, view.colour, view.speed) == (1, 2, "shared", 10.0)
    assert view.from_browser(50, 50, OWN, 1, T=10, H=16) and (view.step, view.neuron) == (9, 15)


@pytest.mark.parametrize(("raw", "want"), [
    ("2.5", 2.5), ("10", 10.0), (1, 1.0), (" 5 ", 5.0), ("1e1", 10.0),
    ("3", None), ("nan", None), ("inf", None), ("", None), (None, None), ("x" * 1000, None)])
def test_only_offered_speeds_are_speeds(raw, want):
    assert speed_of(raw) == want
    assert want is None or want in SPEEDS


def test_the_header_offers_the_colour_modes_and_speeds():
    model, vocab, _ = load_checkpoint(MODELS / "brackets.npz")
    header, _ = decode_payload(build_step_trace("brackets", model, vocab, "(())", SIGNED_STOPS)
                               .payload(0, 0, OWN, SLOW, 0))
    assert header["colour_modes"] == [[k, label] for k, label in COLOUR_MODES.items()]
    assert header["colour_help"] == COLOUR_HELP and header["speeds"] == list(SPEEDS)
    assert {"Wi_x", "Wh_h", "b_h", "a", "shared"} <= set(header["scales"])  # both modes' ranges


# -- what a rerun sends: the trace again only when its bytes change -------------------------

def test_a_browser_move_leaves_the_payload_byte_for_byte():
    model, vocab, _ = load_checkpoint(MODELS / "brackets.npz")
    run = build_step_trace("brackets", model, vocab, "(([]))", SIGNED_STOPS)
    T, H, shown = run.T, run.H, ("brackets", "(([]))")
    view = ExplorerView()
    view.follow(2, 5, OWN, SLOW, T, H, shown)  # a link
    sent = view.payload(run)
    assert decode_payload(sent)[0]["view"] == {"step": 2, "neuron": 5, "colour": "own",
                                                "speed": 2.5, "seq": 1}

    # a report and the rerun it causes: the same bytes, so Streamlit sends a reference only
    assert view.from_browser(4, 7, OWN, SLOW, T, H)
    view.follow(4, 7, OWN, SLOW, T, H, shown)
    assert (view.step, view.neuron) == (4, 7) and view.payload(run) == sent
    view.follow(4, 7, OWN, SLOW, T, H, shown)  # any other rerun (the weights opened): the same
    assert view.payload(run) == sent
    # the colour mode and the speed chosen in the browser: the same bytes again
    assert view.from_browser(4, 7, "shared", 10, T, H)
    view.follow(4, 7, "shared", 10, T, H, shown)
    assert view.payload(run) == sent

    # the server moves the view: new bytes, with the move and a new seq
    view.follow(5, 7, "shared", 10, T, H, shown)
    moved = view.payload(run)
    assert moved != sent
    assert decode_payload(moved)[0]["view"] == {"step": 5, "neuron": 7, "colour": "shared",
                                                 "speed": 10.0, "seq": 2}

    # a colour mode set by the server (a link) and a new trace are new bytes too
    view.follow(5, 7, OWN, 10, T, H, shown)
    assert view.payload(run) != moved
    other = build_step_trace("brackets", model, vocab, "(())", SIGNED_STOPS)
    view.follow(5, 7, OWN, 10, other.T, H, ("brackets", "(())"))
    header, _ = decode_payload(view.payload(other))
    assert header["trace_id"] == other.meta["trace_id"] != run.meta["trace_id"]
    assert (header["view"]["step"], header["view"]["seq"]) == (0, 4)  # a new text: step 0
