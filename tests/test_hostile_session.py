"""Issue 15, the session half: what a session may load, train and keep (D2, D3, D4, D12).

Each test is named after the defect it reproduces; each failed before its fix.
"""

from __future__ import annotations

import io
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from rnn import RNN, CheckpointError, TrainConfig, Trainer, Vocab, checkpoint_bytes
from session import limits
from session.checkpoints import checkpoint_of, resume_run
from session.shelf import entry_from_upload
from session.training import TrainRun, new_run, start

ENGLISH_ISH = "The keeper climbed the stairs to light the lamp, and the sea rolled on. " * 40


def model_of(H: int, V: int, dtype=np.float32) -> tuple[RNN, Vocab]:
    """A small-valued model of the given sizes and a matching character vocabulary."""
    vocab = Vocab(("<unk>", *[chr(0x4E00 + i) for i in range(V - 1)]))
    rng = np.random.default_rng(0)
    model = RNN(W_i=rng.normal(0, 0.01, (H, V)).astype(dtype), W_h=np.zeros((H, H), dtype),
                b_h=np.zeros(H, dtype), W_o=rng.normal(0, 0.01, (V, H)).astype(dtype),
                b_o=np.zeros(V, dtype))
    return model, vocab


def many_chars(n_distinct: int, length: int) -> str:
    chars = [chr(0x4E00 + i) for i in range(min(n_distinct, 20_000))]
    chars += [chr(0x20000 + i) for i in range(n_distinct - len(chars))]
    rng = np.random.default_rng(0)
    return "".join(chars) + "".join(rng.choice(chars, max(0, length - len(chars))))


# -- D2: models too large to serve interactively are refused at the door -----------------------


@pytest.mark.parametrize("H,V", [(4096, 12), (limits.MAX_HIDDEN + 1, 12),
                                 (8, limits.MAX_VOCAB + 1)])
def test_d2_model_too_large_to_serve_is_refused_on_upload(H, V):
    data = checkpoint_bytes(*model_of(H, V))
    assert len(data) <= limits.MAX_CHECKPOINT_BYTES  # today's size limit let it in
    with pytest.raises(CheckpointError, match="at most"):
        entry_from_upload("big.npz", data)


def test_d2_largest_servable_model_loads():
    entry = entry_from_upload("ok.npz", checkpoint_bytes(*model_of(limits.MAX_HIDDEN,
                                                                    limits.MAX_VOCAB)))
    assert entry.model.hidden_size == limits.MAX_HIDDEN


def test_d2_training_refuses_a_vocabulary_over_its_cap():
    data = checkpoint_bytes(*model_of(8, limits.MAX_TRAIN_VOCAB + 1))
    with pytest.raises(CheckpointError, match="at most"):
        resume_run(data, ENGLISH_ISH, "english-ish")


# -- D3: the training vocabulary is capped ----------------------------------------------------


def test_d3_a_corpus_of_100k_distinct_characters_trains_with_a_capped_vocabulary():
    text = many_chars(100_000, 500_000)
    assert len(text.encode()) <= limits.MAX_CORPUS_BYTES
    tracemalloc.start()
    try:
        run = new_run(text, TrainConfig(hidden_size=100, batch_size=16, seq_len=25), "file")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.trainer.vocab.size == limits.MAX_TRAIN_VOCAB
    assert run.trainer.model.W_o.shape == (limits.MAX_TRAIN_VOCAB, 100)
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MB"  # was 2 GB (a 100k-wide softmax)


def test_d3_an_ordinary_corpus_keeps_every_character():
    run = new_run(ENGLISH_ISH, TrainConfig(hidden_size=8, batch_size=2, seq_len=10), "x")
    assert run.trainer.vocab.size == len(set(ENGLISH_ISH)) + 1


# -- D4: whatever the app trains, it can load again --------------------------------------------


def test_d4_largest_run_the_app_allows_loads_back_in_the_app():
    """H=256, V at the training cap, float64 Adam state, a million steps of history."""
    text = many_chars(limits.MAX_TRAIN_VOCAB - 1, 60_000)
    cfg = TrainConfig(hidden_size=limits.MAX_HIDDEN, batch_size=limits.MAX_BATCH, seq_len=20,
                      optimizer="adam", lr=1e-3, dtype="float64", eval_every=10**9)
    run = TrainRun(Trainer(text, cfg), "file big.txt")
    h = run.trainer.history
    for i in range(1, 1_000_001):
        h.append(i, 2.0, 1.0, i * 1e-3)
    for i in range(1, 2001):
        h.append_val(i * 500, 2.1)
    run.trainer.steps = 1_000_000
    data = checkpoint_of(run)
    assert len(data) <= limits.MAX_CHECKPOINT_BYTES, f"{len(data):,} bytes"
    entry = entry_from_upload("run.npz", data)  # the Explorer's uploader
    assert entry.model.hidden_size == limits.MAX_HIDDEN
    again = resume_run(data, text, "file big.txt")  # Train's "continue from this file"
    assert again.trainer.steps == 1_000_000


# -- D12: limits in MB of 10^6 bytes, as Streamlit's uploader counts -----------------------------


def test_d12_limits_are_whole_decimal_megabytes():
    assert limits.MAX_CORPUS_BYTES == limits.MAX_CORPUS_MB * 10**6
    assert limits.MAX_CHECKPOINT_BYTES == limits.MAX_CHECKPOINT_MB * 10**6


def test_d12_corpus_of_exactly_the_limit_is_taken_one_byte_more_is_not():
    ok = b"a b c d e " * (limits.MAX_CORPUS_BYTES // 10)
    assert len(ok) == limits.MAX_CORPUS_BYTES
    assert limits.corpus_from_bytes(ok)
    with pytest.raises(Exception, match=f"{limits.MAX_CORPUS_MB:g} MB"):
        limits.corpus_from_bytes(ok + b"x")


def test_d12_server_upload_limit_matches_the_largest_uploader():
    import tomllib
    from pathlib import Path

    cfg = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml")
                        .read_text())
    assert cfg["server"]["maxUploadSize"] == max(limits.MAX_CHECKPOINT_MB, limits.MAX_CORPUS_MB)


def test_checkpoint_of_a_fresh_run_is_small():
    run = start(TrainRun(Trainer(ENGLISH_ISH, replace(TrainConfig(), hidden_size=8, seq_len=10,
                                                      batch_size=2)), "x"))
    assert len(checkpoint_of(run)) < 100_000
    assert io.BytesIO(checkpoint_of(run)).read(2) == b"PK"


def test_d2_oversized_model_is_refused_from_its_header_before_its_arrays_are_read(monkeypatch):
    """The H=4096 upload was read whole (64 MB of W_h) before being refused: now its W_i header
    alone decides."""
    import rnn.checkpoint as ckpt

    data = checkpoint_bytes(*model_of(4096, 12))
    read = []
    real = ckpt._read_array
    monkeypatch.setattr(ckpt, "_read_array", lambda zf, name: read.append(name) or real(zf, name))
    with pytest.raises(CheckpointError, match="at most"):
        entry_from_upload("big.npz", data)
    assert not set(read) & {"W_i", "W_h", "W_o"}, read
