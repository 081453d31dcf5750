"""The Train live page under AppTest: every control, divergence, bad input, hand-off, two users."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn import TrainConfig, Trainer, load_corpus
from session import checkpoints, training
from tests.conftest import errors, open_app, plotly_array, set_widget, until
from ui import state, train_settings

SMALL = {"train_hidden": 16, "train_seq_len": 10}  # quick steps
# the Trainer the page builds with SMALL and its other defaults (ui/train_settings.py DEFAULTS)
PAGE_CONFIG = {"hidden_size": 16, "seq_len": 10}  # the rest: TrainConfig's defaults


def _open(**widgets) -> AppTest:
    at = open_app("pages/train.py")
    for key, value in {**SMALL, **widgets}.items():
        set_widget(at, key, value)
    return at


def _click(at, key) -> None:
    at.button(key=key).click()
    at.run()
    assert not at.exception, errors(at)


def _run(at) -> training.TrainRun:
    return state.train_run(at.session_state)


def _metric(at, label) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _loss_chart(at) -> dict:
    for el in at.get("plotly_chart"):
        fig = json.loads(el.proto.spec)
        if "Loss" in fig["layout"]["title"]["text"]:
            return fig
    raise AssertionError("no loss chart")


def _texts(at) -> str:
    return " ".join(str(e.value) for kind in ("error", "warning", "success", "info")
                    for e in getattr(at, kind))


def test_page_starts_with_a_run_at_step_zero():
    at = _open()
    run = _run(at)
    assert run.steps == 0 and not run.playing
    assert run.trainer.config.hidden_size == 16 and run.corpus_name == "english"
    assert _metric(at, "Step") == "0"
    assert at.button(key="train_pause").disabled and not at.button(key="train_play").disabled


def test_settings_map_widget_values_to_a_config():
    values = {**train_settings.DEFAULTS, "train_hidden": 16.0, "train_clip": "off",
              "train_val_fraction": 0.15000000000000002, "train_target": 300}
    s = train_settings.settings_from(values)
    assert s.config == TrainConfig(hidden_size=16, seq_len=25, batch_size=32,
                                   optimizer="adam", lr=0.003, init_std=0.01, seed=0,
                                   val_fraction=0.15, clip=None)
    assert type(s.config.hidden_size) is int
    assert (s.temperature, s.sample_every, s.target) == (0.8, 500, 300)
    assert train_settings.settings_from(train_settings.DEFAULTS).config.clip == 5.0

def test_play_trains_and_pause_stops():
    at = _open()
    _click(at, "train_play")
    run = _run(at)
    assert run.playing and at.button(key="train_play").disabled
    until(lambda: run.steps > 0, "training on the server's thread")
    _click(at, "train_pause")
    n = _run(at).steps
    assert not _run(at).playing
    assert _metric(at, "Step") == f"{n:,}"
    fig = _loss_chart(at)
    per_step = next(t for t in fig["data"] if t.get("name") == "training (per step)")
    assert plotly_array(per_step["x"])[-1] == n  # the curve is drawn up to the paused step
    time.sleep(0.3)
    at.run()
    assert _run(at).steps == n  # paused: nothing trains


def test_pause_during_a_chunk_on_another_thread_draws_one_state():
    """With fast reruns, Pause starts a new script run on a new thread while the timer's last
    chunk may still be training on the old one. Every view drawn after the pause must show the
    state after that chunk: the step, the loss curve, the validation points and the samples."""
    at = _open(train_sample_every=25)
    _click(at, "train_play")
    run = _run(at)
    start, done = run.steps, []
    timer = threading.Thread(target=lambda: done.append(training.run_chunk(run, seconds=3.0)))
    timer.start()
    while run.steps == start and timer.is_alive():
        time.sleep(0.001)
    _click(at, "train_pause")
    timer.join(timeout=10)
    assert not timer.is_alive() and done and done[0] > 0
    h, n = run.trainer.history, run.steps
    assert _metric(at, "Step") == f"{n:,}"
    traces = {t.get("name"): t for t in _loss_chart(at)["data"]}
    assert plotly_array(traces["training (per step)"]["x"])[-1] == n
    assert plotly_array(traces["validation"]["x"]).tolist() == h.val_step
    newest = next(c.value for c in at.caption if c.value.startswith("step "))
    assert newest == f"step {run.samples[-1][0]:,}" and run.samples[-1][0] > n - 25
    assert at.code[1].value == run.samples[-1][1]


def test_single_step_adds_exactly_one_point_and_changes_the_numbers():
    at = _open()
    for _ in range(3):
        _click(at, "train_step")
    h = _run(at).trainer.history
    n, loss, W_h = len(h.loss), list(h.loss), _run(at).trainer.model.W_h.copy()
    _click(at, "train_step")
    assert len(h.loss) == n + 1 and h.loss[:n] == loss
    assert not np.array_equal(W_h, _run(at).trainer.model.W_h)
    assert _metric(at, "Step") == str(n + 1)
    assert float(_metric(at, "Loss (nats)")) == pytest.approx(np.mean(h.loss[-100:]), abs=5e-4)


def test_reset_clears_the_run():
    at = _open()
    for _ in range(2):
        _click(at, "train_step")
    _click(at, "train_reset")
    run = _run(at)
    assert run.steps == 0 and run.trainer.history.loss == [] and len(run.snapshots) == 1


def test_page_numbers_match_a_plain_trainer():
    at = _open()
    for _ in range(5):
        _click(at, "train_step")
    ref = Trainer(load_corpus("english"), TrainConfig(**PAGE_CONFIG))
    ref.train(5)
    assert _run(at).trainer.history.loss == ref.history.loss


def test_architecture_change_asks_before_discarding_the_run():
    at = _open()
    _click(at, "train_step")
    old = _run(at)
    set_widget(at, "train_hidden", 24)
    assert _run(at) is old and old.trainer.config.hidden_size == 16  # kept, not applied
    assert "hidden size" in _texts(at)
    _click(at, "train_step")  # the current run keeps training meanwhile
    assert old.steps == 2
    _click(at, "train_confirm")
    assert _run(at) is not old and _run(at).trainer.config.hidden_size == 24
    assert _run(at).steps == 0


def test_keep_puts_the_settings_back():
    at = _open()
    _click(at, "train_step")
    set_widget(at, "train_seq_len", 30)
    _click(at, "train_keep")
    assert at.number_input(key="train_seq_len").value == 10
    assert _run(at).steps == 1 and not [w for w in at.button if w.key == "train_confirm"]


def test_learning_rate_and_clipping_apply_live():
    at = _open()
    _click(at, "train_step")
    run = _run(at)
    set_widget(at, "train_lr", 0.01)
    set_widget(at, "train_clip", "off")
    assert _run(at) is run and run.steps == 1
    assert run.trainer.config.lr == run.trainer.optimizer.lr == 0.01
    assert run.trainer.config.clip is None


def test_divergence_is_caught_and_the_last_good_model_kept():
    at = _open(train_optimizer="sgd")
    _click(at, "train_step")
    set_widget(at, "train_lr", 50.0)
    seen = {}
    for _ in range(100):
        run = _run(at)
        seen[run.steps] = {k: v.copy() for k, v in run.trainer.model.params().items()}
        _click(at, "train_step")
        if run.trainer.diverged:
            break
    run = _run(at)
    assert run.trainer.diverged
    assert any("diverged" in str(e.value) for e in at.error)
    assert at.button(key="train_play").disabled and at.button(key="train_continue").disabled
    for k, p in run.trainer.model.params().items():
        assert np.all(np.isfinite(p))
        np.testing.assert_array_equal(p, seen[run.steps - 1][k])
    set_widget(at, "train_lr", 0.01)
    assert not at.button(key="train_continue").disabled
    _click(at, "train_continue")
    assert not run.trainer.diverged and run.playing
    _click(at, "train_pause")
    n = run.steps
    _click(at, "train_step")
    assert run.steps == n + 1


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("tiny text", "too short"),
    ("a" * 400, "single character"),
])
def test_bad_pasted_corpora_get_messages_and_keep_the_run(text, words):
    at = _open()
    _click(at, "train_step")
    run = _run(at)
    set_widget(at, "train_source", "Paste text")
    set_widget(at, "train_paste", text)
    assert words in _texts(at)
    assert _run(at) is run and run.steps == 1


def test_pasted_corpus_asks_then_trains_on_it():
    at = _open()
    _click(at, "train_step")
    set_widget(at, "train_source", "Paste text")
    text = "the cat sat on the mat. " * 40
    set_widget(at, "train_paste", text)
    assert "corpus" in _texts(at)
    _click(at, "train_confirm")
    run = _run(at)
    assert run.corpus_name == "pasted text" and run.trainer.vocab.size == len(set(text)) + 1


def _shown_model(at):
    """The model entry the sidebar's model picker shows (on any page that has it)."""
    key = at.selectbox(key="model_picker").value
    return key, state.shelf(at.session_state)[key]


def test_explore_this_model_opens_it_in_the_explorer():
    at = _open()
    for _ in range(3):
        _click(at, "train_step")
    at.button(key="train_explore").click().run()
    assert not at.exception, errors(at)
    at.switch_page("pages/explorer.py").run()  # the explorer runs on it
    assert not at.exception, errors(at)
    key, entry = _shown_model(at)
    assert key == "trained" and entry.source == "trained" and entry.meta.snapshot_step == 3
    np.testing.assert_array_equal(entry.model.W_h, _run(at).trainer.model.W_h)


def test_explore_this_model_carries_its_corpus_to_space_and_atlas():
    """The model trained here names its corpus: the Hidden-state space page fits its PCA on
    it and the Neuron atlas offers it, as for a built-in or a downloaded-and-uploaded model."""
    at = _open()
    for _ in range(3):
        _click(at, "train_step")
    at.button(key="train_explore").click().run()
    at.switch_page("pages/space.py").run()
    at.text_input(key="text").set_value("The lamp is lit.").run()
    assert not at.exception, errors(at)
    assert at.selectbox(key="model_picker").value == "trained"
    about = " ".join(c.value for c in at.caption)
    assert "of its corpus “English prose and verse”" in about
    assert "the model names no built-in corpus" not in about
    at.switch_page("pages/atlas.py").run()
    assert not at.exception, errors(at)
    source = at.radio(key="atlas_source")
    assert source.options[0] == "Its corpus: English prose and verse" and source.value == "corpus"
    assert any("“English prose and verse”, the text this model was trained on" in c.value
               for c in at.caption)


def test_explore_a_snapshot():
    at = _open()
    _click(at, "train_step")
    box = at.selectbox(key="train_explore_pick")
    box.set_value(next(o for o in box.options if o.startswith("snapshot at step 0 "))).run()
    at.button(key="train_explore").click().run()
    at.switch_page("pages/explorer.py").run()
    key, entry = _shown_model(at)
    assert key == "trained@0" and entry.source == "snapshot"
    np.testing.assert_array_equal(entry.model.W_h, _run(at).snapshots[0].model.W_h)


def test_two_sessions_train_separately():
    a = _open()
    b = _open(train_corpus="brackets")
    for _ in range(3):
        _click(a, "train_step")
    _click(b, "train_step")
    ra, rb = _run(a), _run(b)
    assert ra is not rb and ra.corpus_name == "english" and rb.corpus_name == "brackets"
    assert (ra.steps, rb.steps) == (3, 1)
    ref_b = Trainer(load_corpus("brackets"), TrainConfig(**PAGE_CONFIG))
    ref_b.train(1)
    assert rb.trainer.history.loss == ref_b.history.loss
    assert _metric(a, "Step") == "3" and _metric(b, "Step") == "1"


def _upload(at, key, name, data, mime="text/plain") -> None:
    next(w for w in at.file_uploader if w.key == key).set_value((name, data, mime))
    at.run()
    assert not at.exception, errors(at)


@pytest.mark.parametrize("data, words", [
    (b"\x00\x01\x02binary" * 50, "binary"),
    ("na\u00efve caf\u00e9 ".encode("latin-1") * 40, "not UTF-8"),
    (b"short", "too short"),
])
def test_bad_uploaded_corpora_get_messages_and_keep_the_run(data, words):
    at = _open()
    _click(at, "train_step")
    run = _run(at)
    set_widget(at, "train_source", "Upload a .txt file")
    _upload(at, "train_upload", "bad.txt", data)
    assert words in _texts(at)
    assert _run(at) is run and run.steps == 1


def test_uploaded_corpus_is_used_after_confirming():
    at = _open()
    set_widget(at, "train_source", "Upload a .txt file")
    text = "Über den Wolken muss die Freiheit wohl grenzenlos sein. " * 20
    _upload(at, "train_upload", "lied.txt", text.encode("utf-8"))
    run = _run(at)  # step 0: nothing to lose, so the new corpus applies at once
    assert run.corpus_name == "file lied.txt" and "Ü" in run.trainer.vocab.tokens


def test_checkpoint_download_and_upload_continue_the_run():
    at = _open()
    for _ in range(4):
        _click(at, "train_step")
    data = checkpoints.checkpoint_of(_run(at))
    download = at.get("download_button")
    assert download and not download[0].proto.disabled  # paused: the checkpoint can be saved
    _click(at, "train_reset")
    assert _run(at).steps == 0
    _upload(at, "train_ckpt_upload", "run.npz", data, "application/octet-stream")
    _click(at, "train_resume")
    run = _run(at)
    assert run.steps == 4 and "exactly" in _texts(at)
    _click(at, "train_step")
    ref = Trainer(load_corpus("english"), TrainConfig(**PAGE_CONFIG))
    ref.train(5)
    assert run.trainer.history.loss == ref.history.loss


@pytest.mark.parametrize("data", [b"garbage", b"PK\x03\x04garbage", b""])
def test_bad_checkpoint_upload_gets_a_message_and_keeps_the_run(data):
    at = _open()
    _click(at, "train_step")
    run = _run(at)
    _upload(at, "train_ckpt_upload", "bad.npz", data, "application/octet-stream")
    _click(at, "train_resume")
    assert "Could not continue" in _texts(at)
    assert _run(at) is run and run.steps == 1


def test_step_target_stops_the_run_and_shows_progress():
    at = _open()
    set_widget(at, "train_target", 30)
    _click(at, "train_play")
    run = _run(at)
    until(lambda: not run.playing, "the target")
    at.run()
    assert run.steps == 30
    assert not at.button(key="train_play").disabled  # paused again, ready to go on
    bars = at.get("progress")
    assert bars and "30 / 30 steps" in bars[0].proto.text
