"""The training run behind the Train live page, driven without Streamlit: chunks, pause,
divergence, limits, checkpoints and the metadata a trained model carries."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from rnn import CheckpointError, ModelMeta, RNNError, TrainConfig, load_checkpoint, load_corpus
from session import checkpoints, limits, train_view, training

TEXT = load_corpus("english")[:6000]
CFG = TrainConfig(hidden_size=16, seq_len=10, batch_size=2, eval_every=20)


def _run(**kw) -> training.TrainRun:
    return training.new_run(TEXT, CFG, "english", sample_every=kw.pop("sample_every", 30), **kw)


def _params(run):
    return {k: v.copy() for k, v in run.trainer.model.params().items()}


def test_new_run_starts_at_step_zero_with_snapshot_sample_and_validation():
    run = _run()
    assert run.steps == 0
    assert [s.step for s in run.snapshots] == [0]
    assert run.samples[0][0] == 0 and len(run.samples[0][1]) == training.SAMPLE_LEN
    assert run.trainer.history.val_step == [0]
    assert run.trainer.config.max_loss == pytest.approx(10 * math.log(run.trainer.vocab.size))


@pytest.mark.parametrize("cuts", [[1] * 7 + [50, 93, 1, 49], [200], [37, 163]])
def test_chunking_does_not_change_the_numbers(cuts):
    """Pause/resume at any points gives exactly the numbers of one uninterrupted run."""
    whole, parts = _run(), _run()
    assert training.run_chunk(whole, seconds=None, max_steps=200) == 200
    for n in cuts:
        assert training.run_chunk(parts, seconds=None, max_steps=n) == n
    hw, hp = whole.trainer.history, parts.trainer.history
    assert hp.step == hw.step == list(range(1, 201))
    assert hp.loss == hw.loss and hp.grad_norm == hw.grad_norm
    assert hp.val_step == hw.val_step and hp.val_loss == hw.val_loss
    assert parts.samples == whole.samples
    assert [s.step for s in parts.snapshots] == [s.step for s in whole.snapshots] == [0, 100]
    for k, v in _params(whole).items():
        np.testing.assert_array_equal(parts.trainer.model.params()[k], v)


def test_timed_chunk_is_bounded_and_resumes_exactly():
    run, ref = _run(), _run()
    done = training.run_chunk(run, seconds=0.05)
    assert done >= 1
    training.run_chunk(ref, seconds=None, max_steps=done)
    assert run.trainer.history.loss == ref.trainer.history.loss


def test_samples_every_n_steps_and_bounded():
    run = _run(sample_every=5)
    training.run_chunk(run, seconds=None, max_steps=300)
    steps = [s for s, _ in run.samples]
    assert len(steps) == training.MAX_SAMPLES
    assert steps[0] == 0 and steps[-1] == 300 and all(s % 5 == 0 for s in steps)


def test_snapshots_follow_the_schedule_and_are_copies():
    run = _run(sample_every=1000)
    training.run_chunk(run, seconds=None, max_steps=1000)
    assert [s.step for s in run.snapshots] == [0, 100, 300, 1000]
    assert not np.shares_memory(run.snapshots[-1].model.W_h, run.trainer.model.W_h)
    np.testing.assert_array_equal(run.snapshots[-1].model.W_h, run.trainer.model.W_h)
    assert not np.array_equal(run.snapshots[0].model.W_h, run.snapshots[1].model.W_h)


def test_target_pauses_the_run():
    run = _run()
    run.playing, run.target = True, 42
    training.run_chunk(run, seconds=5)
    assert run.steps == 42 and not run.playing
    p = train_view.progress(run)
    assert p.fraction == 1.0


def _in_thread(fn, *args, **kw) -> tuple[threading.Thread, list]:
    """Start fn on another thread, as a timer's script run does; its result lands in the list."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn(*args, **kw)))
    thread.start()
    return thread, out


def _wait_for_steps(run, thread) -> None:
    while run.steps == 0 and thread.is_alive():
        time.sleep(0.001)


def test_pause_ends_a_chunk_in_flight_on_another_thread():
    run = _run()
    run.playing = True
    thread, done = _in_thread(training.run_chunk, run, seconds=30)
    _wait_for_steps(run, thread)
    t0 = time.perf_counter()
    training.pause(run)  # returns once the chunk has stopped, at its next step
    waited, steps = time.perf_counter() - t0, run.steps
    thread.join(timeout=10)
    assert not thread.is_alive() and waited < 5
    assert not run.playing and run.steps == steps == done[0] > 0  # nothing trained after
    assert run.trainer.history.step == list(range(1, steps + 1))


def test_play_chunk_trains_only_while_playing():
    run = _run()
    assert training.play_chunk(run) == 0 and run.steps == 0  # paused: nothing
    run.playing = True
    assert training.play_chunk(run) == run.steps > 0


def test_chunks_from_two_threads_take_turns():
    """Two script runs training at once (an old one still in its chunk) never interleave."""
    run, ref = _run(), _run()
    threads = [_in_thread(training.run_chunk, run, seconds=None, max_steps=100)[0]
               for _ in range(2)]
    for thread in threads:
        thread.join(timeout=60)
    training.run_chunk(ref, seconds=None, max_steps=200)
    assert run.trainer.history.step == list(range(1, 201))
    assert run.trainer.history.loss == ref.trainer.history.loss
    assert run.samples == ref.samples


def test_chart_data_waits_for_a_chunk_in_flight_and_is_a_copy():
    run = _run()
    thread, _ = _in_thread(training.run_chunk, run, seconds=None, max_steps=300)
    _wait_for_steps(run, thread)
    c = train_view.chart_data(run)  # taken after the chunk: one state for every chart
    assert c.steps == run.steps == 300 and c.history.step == list(range(1, 301))
    assert c.samples == run.samples and c.samples[-1][0] == 300
    np.testing.assert_array_equal(c.W_h, run.trainer.model.W_h.astype(np.float32))
    assert train_view.progress(run).steps == 300
    training.run_chunk(run, seconds=None, max_steps=5)
    assert len(c.history.loss) == 300 and c.samples[-1][0] == 300  # unchanged by training


def test_live_lr_and_clip_apply_without_reset():
    run = _run()
    training.run_chunk(run, seconds=None, max_steps=10)
    training.apply_live(run, lr=0.01, clip=None, clip_set=True, temperature=1.3)
    tr = run.trainer
    assert tr.config.lr == tr.optimizer.lr == 0.01 and tr.config.clip is None
    assert run.temperature == 1.3 and run.steps == 10
    with pytest.raises(RNNError):
        training.apply_live(run, lr=-1.0)


def test_divergence_keeps_last_good_parameters_and_can_continue():
    run = training.new_run(TEXT, TrainConfig(hidden_size=16, seq_len=10, optimizer="sgd",
                                             lr=0.05), "english")
    training.run_chunk(run, seconds=None, max_steps=5)
    training.apply_live(run, lr=50.0)
    seen = {run.steps: _params(run)}
    run.playing = True
    while not run.trainer.diverged and run.steps < 200:
        training.run_chunk(run, seconds=None, max_steps=1)
        seen[run.steps] = _params(run)
    tr = run.trainer
    assert tr.diverged and "diverged" in tr.diverged and not run.playing
    for k, p in tr.model.params().items():
        assert np.all(np.isfinite(p))
        np.testing.assert_array_equal(p, seen[run.steps - 1][k])  # the last good step's
    assert training.run_chunk(run, seconds=None, max_steps=1) == 0  # stopped
    assert not training.can_continue(run)
    with pytest.raises(RNNError):
        training.continue_after_divergence(run)
    training.apply_live(run, lr=0.05)
    training.continue_after_divergence(run)
    n = run.steps
    assert training.run_chunk(run, seconds=None, max_steps=20) == 20
    assert run.steps == n + 20 and not tr.diverged
    assert np.all(np.isfinite(tr.history.loss[-20:]))


def test_huge_init_diverges_at_once():
    run = training.new_run(TEXT, TrainConfig(hidden_size=16, seq_len=10, init_std=100.0),
                           "english")
    before = _params(run)
    training.run_chunk(run, seconds=None, max_steps=3)
    assert run.trainer.diverged and run.steps == 0
    for k, v in before.items():
        np.testing.assert_array_equal(run.trainer.model.params()[k], v)


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"abc def", "too short"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 30, "binary"),
    ("caf\u00e9 ".encode("latin-1") * 100, "not UTF-8"),
    (b"a" * 500, "single character"),
    (b"x" * (limits.MAX_CORPUS_BYTES + 1), "limit"),
])
def test_bad_corpora_get_plain_messages(data, words):
    with pytest.raises(RNNError, match=words):
        limits.check_corpus(limits.corpus_from_bytes(data))


def test_utf8_with_bom_is_read():
    assert limits.corpus_from_bytes("\ufeffhé".encode()) == "hé"


def test_limits_are_enforced():
    with pytest.raises(RNNError, match="at most 256"):
        training.new_run(TEXT, TrainConfig(hidden_size=300), "english")


def test_changed_settings_names_architecture_and_corpus_only():
    run = _run()
    same = TrainConfig(**{**CFG.__dict__, "lr": 0.5, "clip": None})
    assert training.changed_settings(run, same, run.corpus_digest) == []
    other = TrainConfig(**{**CFG.__dict__, "hidden_size": 32})
    assert training.changed_settings(run, other, "x") == ["hidden size", "corpus"]


def test_checkpoint_round_trip_continues_exactly():
    run, ref = _run(), _run()
    training.run_chunk(run, seconds=None, max_steps=40)
    resumed = checkpoints.resume_run(checkpoints.checkpoint_of(run), TEXT, "english")
    assert resumed.steps == 40 and "exactly" in resumed.resumed
    training.run_chunk(resumed, seconds=None, max_steps=30)
    training.run_chunk(ref, seconds=None, max_steps=70)
    assert resumed.trainer.history.loss == ref.trainer.history.loss


def test_checkpoint_on_other_text_starts_a_fresh_pass():
    run = _run()
    training.run_chunk(run, seconds=None, max_steps=10)
    other = load_corpus("hello")
    resumed = checkpoints.resume_run(checkpoints.checkpoint_of(run), other, "hello")
    assert "other text" in resumed.resumed and resumed.steps == 10


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_bad_checkpoints_raise_checkpoint_errors(data):
    with pytest.raises(CheckpointError):
        checkpoints.resume_run(data, TEXT, "english")


def test_snapshot_model_is_a_copy_and_unknown_step_is_an_error():
    run = _run()
    m = training.snapshot_model(run, 0)
    m.W_h[:] = 1.0
    assert not np.all(run.snapshots[0].model.W_h == 1.0)
    with pytest.raises(RNNError):
        training.snapshot_model(run, 12345)


def test_a_trained_model_carries_its_corpus_whether_explored_or_downloaded():
    """One metadata for both hand-offs: "Explore this model" and the checkpoint download."""
    run = _run()
    training.run_chunk(run, seconds=None, max_steps=12)
    explored = run.model_meta()
    assert explored.corpus == "english" and explored.snapshot_step == 12
    assert explored.config == run.trainer.config and explored.history.step == list(range(1, 13))
    assert explored.val_loss == run.trainer.history.val_loss[-1]
    _, _, doc = load_checkpoint(checkpoints.checkpoint_of(run))
    downloaded = ModelMeta.from_dict(doc)
    assert (downloaded.title, downloaded.description, downloaded.corpus) == (
        explored.title, explored.description, explored.corpus)
    assert run.model_meta(0).snapshot_step == 0 and "step 0" in run.model_meta(0).description


def test_live_settings_are_checked_before_they_apply():
    run = _run()
    with pytest.raises(RNNError, match="clipping"):
        training.apply_live(run, clip=-1.0, clip_set=True)
    assert run.trainer.config.clip == CFG.clip  # unchanged
    training.apply_live(run, clip=2.0, clip_set=True)
    assert run.trainer.config.clip == 2.0
