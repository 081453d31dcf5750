"""Issue 15, the core half: hostile checkpoints, the history bound, the CLI, the space figure.

Each test is named after the defect it reproduces (D1 ... D14); each failed before its fix.
"""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest

import rnn.checkpoint as ckpt
from figures.space import trajectory
from rnn import (
    RNN,
    CheckpointError,
    RNNError,
    TrainConfig,
    Trainer,
    Vocab,
    checkpoint_bytes,
    load_checkpoint,
    load_corpus,
    save_checkpoint,
)
from rnn.cli import main
from rnn.history import History

TEXT = load_corpus("english")[:5000]


@pytest.fixture
def mv():
    vocab = Vocab.build("hello world")
    return RNN.create(vocab.size, 6, seed=1, init_std=0.3), vocab


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=False)
    return buf.getvalue()


def with_meta(model: RNN, vocab: Vocab, raw_json: bytes) -> bytes:
    """A checkpoint whose meta_json holds exactly ``raw_json``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in model.params().items():
            zf.writestr(k + ".npy", npy_bytes(v))
        zf.writestr(ckpt.META_KEY + ".npy", npy_bytes(np.frombuffer(raw_json, np.uint8)))
    return buf.getvalue()


def meta_doc(vocab: Vocab, **extra) -> dict:
    return {"format_version": ckpt.FORMAT_VERSION,
            "vocab": {"tokens": list(vocab.tokens), "level": vocab.level}, **extra}


@pytest.fixture
def no_json_parsing(monkeypatch):
    """Fail the test if the checkpoint loader parses JSON at all."""
    def refuse(*args, **kwargs):
        raise AssertionError("json.loads ran on metadata that should be refused unread")
    monkeypatch.setattr(ckpt.json, "loads", refuse)


# -- D1: metadata size, length and depth are checked before parsing ----------------------------


def test_d1_huge_metadata_refused_before_parsing(mv, no_json_parsing):
    """60 M x '1.5,' packed into a small zip: refused from the zip's declared size, unread."""
    model, vocab = mv
    head = json.dumps(meta_doc(vocab))[:-1].encode() + b', "x": ['
    body = b"1.5," * (ckpt.MAX_META_BYTES // 4 + 10) + b"1]}"
    data = with_meta(model, vocab, head + body)
    assert len(data) < ckpt.MAX_META_BYTES // 50  # compresses to almost nothing
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match="metadata"):
        load_checkpoint(data)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("filler", [b"[],", b"1,", b"{},"], ids=["lists", "numbers", "dicts"])
def test_d1_too_many_json_values_refused_before_parsing(mv, no_json_parsing, filler):
    """Under the byte limit, but a million little values: refused by counting, not parsing."""
    model, vocab = mv
    n = (ckpt.MAX_META_BYTES - 1000) // len(filler)
    head = json.dumps(meta_doc(vocab))[:-1].encode() + b', "x": ['
    with pytest.raises(CheckpointError, match="metadata"):
        load_checkpoint(with_meta(model, vocab, head + filler * n + b"0]}"))


def test_d1_deep_json_refused_before_parsing(mv, no_json_parsing):
    model, vocab = mv
    head = json.dumps(meta_doc(vocab))[:-1].encode() + b', "x": '
    deep = b"[" * 200 + b"]" * 200
    with pytest.raises(CheckpointError, match="metadata"):
        load_checkpoint(with_meta(model, vocab, head + deep + b"}"))


def test_d1_brackets_inside_strings_are_not_nesting(mv):
    """The brackets corpus has '[' and '{' tokens: strings are skipped when measuring depth."""
    model, vocab = mv
    doc = meta_doc(vocab, note="[[[[{{{{" * 100 + '"\\"[[[[')
    load_checkpoint(with_meta(model, vocab, json.dumps(doc).encode()))  # loads


# -- D4: the training history is bounded; a long run's checkpoint loads back -------------------


def test_d4_history_is_bounded_and_keeps_recent_steps_dense():
    from rnn.history import MAX_HISTORY

    h = History()
    n = 1_000_000
    for i in range(1, n + 1):
        h.append(i, 1.0 / i, 2.0, i * 1e-4)
    assert len(h.step) <= MAX_HISTORY
    assert len(h.loss) == len(h.step) == len(h.grad_norm) == len(h.seconds)
    assert h.step[0] == 1 and h.step[-1] == n
    assert h.step[-100:] == list(range(n - 99, n + 1))  # loss_last(100), chars/s stay exact
    assert h.loss_last(100) == pytest.approx(np.mean([1.0 / i for i in range(n - 99, n + 1)]))
    assert np.all(np.diff(h.step) > 0)


def test_d4_trainer_history_bounded(monkeypatch):
    import rnn.history as history

    monkeypatch.setattr(history, "MAX_HISTORY", 200)
    tr = Trainer(TEXT, TrainConfig(hidden_size=4, seq_len=1, batch_size=1, eval_every=10**9))
    tr.train(1000)
    assert len(tr.history.step) <= 200 and tr.history.step[-1] == 1000
    _, _, meta = load_checkpoint(checkpoint_bytes(tr.model, tr.vocab, **tr.meta()))
    assert meta["history"]["step"][-1] == 1000


def test_d4_million_step_checkpoint_loads_back():
    """H=4, B=1, T=1 for 1,000,000 steps: the checkpoint stays small and loads again."""
    tr = Trainer(TEXT, TrainConfig(hidden_size=4, seq_len=1, batch_size=1, eval_every=10**9))
    tr.train(2)
    for i in range(3, 1_000_001):
        tr.history.append(i, 1.5, 0.5, i * 3e-4)
    for i in range(1, 2001):
        tr.history.append_val(i * 500, 1.7)
    tr.steps = 1_000_000
    buf = io.BytesIO()
    tr.save(buf)
    assert len(buf.getvalue()) < 2 * 2**20
    _, _, meta = load_checkpoint(buf.getvalue())
    assert meta["trainer"]["steps"] == 1_000_000


# -- D6: the space figure with fewer principal axes than it draws ------------------------------


@pytest.mark.parametrize("T,K,dims", [(5, 1, 2), (5, 2, 3), (2, 2, 3), (1, 1, 3), (3, 1, 3)])
def test_d6_trajectory_with_fewer_axes_than_dims(T, K, dims):
    z = np.arange(T * K, dtype=float).reshape(T, K)
    ref = np.ones((4, K))
    fig = trajectory(z, list("abcde"[:T]), np.full(K, 1.0 / K), t=T - 1, dims=dims, reference=ref)
    path = fig.data[1]
    assert len(path.x) == T
    if dims == 3:
        assert len(path.z) == T
        assert list(path.z) == (list(z[:, 2]) if K > 2 else [0.0] * T)


# -- D7 / D14: the CLI turns every bad argument into one line ----------------------------------


def call(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("error: ") and err.count("\n") == 1, err


@pytest.fixture
def corpus(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text(TEXT, encoding="utf-8")
    return p


SMALL = ["--hidden", "8", "--seq-len", "8", "--batch-size", "2", "--quiet"]


@pytest.mark.parametrize("args", [
    ["--seed", "-1"], ["--seed", str(2**64)], ["--init-std", "1e308"], ["--init-std", "inf"],
    ["--val-fraction", "0.6"], ["--threads", "0"], ["--lr", "1e400"],
], ids=lambda a: " ".join(a))
def test_d14_train_bad_arguments_are_one_line_errors(capsys, corpus, tmp_path, args):
    out = tmp_path / "m.npz"
    code, stdout, stderr = call(capsys, "train", str(corpus), "--steps", "2", "--out", str(out),
                                *SMALL, *args)
    one_line_error(code, stderr)
    assert stdout == "" and not out.exists()


def test_d7_val_fraction_the_app_cannot_show_is_refused(capsys, corpus, tmp_path):
    from rnn.config import MAX_VAL_FRACTION

    assert MAX_VAL_FRACTION == 0.5
    code, _, stderr = call(capsys, "train", str(corpus), "--val-fraction", "0.6", "--out",
                           str(tmp_path / "m.npz"), *SMALL)
    one_line_error(code, stderr)
    assert "validation fraction" in stderr


def test_d14_large_seed_within_range_trains(capsys, corpus, tmp_path):
    out = tmp_path / "m.npz"
    code, _, err = call(capsys, "train", str(corpus), "--steps", "2", "--seed", "3000000000",
                        "--out", str(out), *SMALL)
    assert code == 0, err
    assert load_checkpoint(out)[2]["config"]["seed"] == 3_000_000_000


@pytest.mark.parametrize("args", [
    ["--seed", "-1"], ["--temperature", "nan"], ["--top-k", "0"], ["-n", "-3"],
], ids=lambda a: " ".join(a))
def test_d14_sample_bad_arguments_are_one_line_errors(capsys, tmp_path, mv, args):
    p = tmp_path / "m.npz"
    save_checkpoint(p, *mv)
    code, stdout, stderr = call(capsys, "sample", str(p), *args)
    one_line_error(code, stderr)
    assert stdout == ""


def test_d14_out_without_extension_prints_the_path_written(capsys, corpus, tmp_path):
    target = tmp_path / "noext"
    code, stdout, _ = call(capsys, "train", str(corpus), "--steps", "2", "--out", str(target),
                           *SMALL)
    assert code == 0
    written = tmp_path / "noext.npz"
    assert written.is_file() and not target.exists()
    assert f"saved {written} " in stdout


def test_d14_out_in_a_missing_folder_fails_before_training(capsys, corpus, tmp_path):
    t0 = time.perf_counter()
    code, _, stderr = call(capsys, "train", str(corpus), "--steps", "1000000", "--out",
                           str(tmp_path / "nowhere" / "m.npz"), *SMALL)
    assert time.perf_counter() - t0 < 20  # not after a million steps
    one_line_error(code, stderr)
    assert "nowhere" in stderr


# -- D9: malformed metadata in a checkpoint that otherwise loads -------------------------------


@pytest.mark.parametrize("extra", [
    {"history": [1, 2, 3]},
    {"val_loss": {"a": 1}},
    {"trainer": {"steps": float("inf")}},
    {"trainer": {"steps": -4}},
    {"trainer": "x"},
    {"history": {"loss": ["1.0", "2.0"], "step": [1, 2]}},
    {"history": {"loss": [1.0, 2.0], "step": [1]}},
    {"history": {"val_loss": [None]}},
    {"config": {"seed": 1.5}},
    {"config": {"hidden_size": "12"}},
    {"config": {"lr": float("nan")}},
    {"config": []},
    {"title": ["a"]},
    {"description": 3},
], ids=lambda d: json.dumps(d, allow_nan=True)[:40])
def test_d9_malformed_metadata_is_a_checkpoint_error(mv, extra):
    model, vocab = mv
    raw = json.dumps(meta_doc(vocab, **extra), allow_nan=True).encode()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(with_meta(model, vocab, raw))
    assert "\n" not in str(info.value)


def test_d9_well_formed_metadata_still_loads(mv):
    tr = Trainer(TEXT, TrainConfig(hidden_size=4, seq_len=5, eval_every=3))
    tr.train(7)
    _, _, meta = load_checkpoint(checkpoint_bytes(tr.model, tr.vocab, **tr.meta(), title="t",
                                                  description="d", val_loss=1.5))
    assert meta["trainer"]["steps"] == 7 and meta["history"]["val_step"] == [3, 6]


# -- D13: finite but absurd weights ------------------------------------------------------------


@pytest.mark.parametrize("dtype,value", [(np.float64, 1e308), (np.float32, 3e38),
                                         (np.float64, -1e12)])
def test_d13_huge_finite_weights_are_refused(mv, dtype, value):
    model, vocab = mv
    bad = model.copy(dtype)
    bad.W_h[0, 0] = value
    entries = {k: npy_bytes(v) for k, v in bad.params().items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in entries.items():
            zf.writestr(k + ".npy", v)
        zf.writestr(ckpt.META_KEY + ".npy",
                    npy_bytes(np.frombuffer(json.dumps(meta_doc(vocab)).encode(), np.uint8)))
    with pytest.raises(CheckpointError, match="W_h"):
        load_checkpoint(buf.getvalue())
    with pytest.raises(CheckpointError, match="W_h"):  # and never written in the first place
        checkpoint_bytes(bad, vocab)


def test_d13_largest_allowed_weights_give_finite_probabilities(mv):
    """At the bound, the forward pass stays finite in float32."""
    model, vocab = mv
    big = model.copy(np.float32)
    for p in big.params().values():
        p[...] = ckpt.MAX_ABS_WEIGHT
    m2, _, _ = load_checkpoint(checkpoint_bytes(big, vocab))
    tr = m2.forward(vocab.encode("hello"))
    assert np.all(np.isfinite(tr.probs)) and np.all(np.isfinite(tr.a))


def test_rnn_error_for_bad_seed_in_core():
    with pytest.raises(RNNError, match="seed"):
        TrainConfig(seed=-1).validate()
