"""Checkpoints: round trip, and every broken or hostile file ends in CheckpointError."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

import rnn.checkpoint as ckpt
from rnn import (
    RNN,
    CheckpointError,
    RNNError,
    Vocab,
    checkpoint_bytes,
    load_checkpoint,
    save_checkpoint,
)

PARAMS = ("W_i", "W_h", "b_h", "W_o", "b_o")


@pytest.fixture
def mv():
    vocab = Vocab.build("hello world")
    model = RNN.create(vocab.size, 6, seed=1, init_std=0.3)
    model.b_h[:] = np.linspace(-1, 1, 6)
    return model, vocab


def npy_bytes(arr, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=allow_pickle)
    return buf.getvalue()


def zip_of(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of raw entries; array names get ``.npy`` appended, file names keep theirs."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries.items():
            raw = name.endswith((".npy", ".txt", ".csv"))
            zf.writestr(name if raw else name + ".npy", data)
    return buf.getvalue()


def meta_blob(doc) -> bytes:
    return npy_bytes(np.frombuffer(json.dumps(doc).encode(), np.uint8))


def entries_of(model: RNN, vocab: Vocab, **meta) -> dict[str, bytes]:
    """The raw .npy entries of a valid checkpoint, to break one at a time."""
    doc = {"format_version": ckpt.FORMAT_VERSION,
           "vocab": {"tokens": list(vocab.tokens), "level": vocab.level}, **meta}
    out = {k: npy_bytes(v) for k, v in model.params().items()}
    out[ckpt.META_KEY] = meta_blob(doc)
    return out


def assert_rejected(data, match: str | None = None) -> CheckpointError:
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(data)
    msg = str(info.value)
    assert msg and "\n" not in msg.strip()
    return info.value


# -- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("level", ["char", "word"])
def test_round_trip_path(tmp_path, dtype, level):
    vocab = Vocab.build("one two, three! one", level)
    model = RNN.create(vocab.size, 5, seed=2, init_std=0.5, dtype=dtype)
    meta = {"title": "x", "config": {"lr": 0.1, "clip": None}, "history": {"loss": [1.5, 1.25]},
            "unicode": "é☃"}
    path = tmp_path / "m.npz"
    save_checkpoint(path, model, vocab, **meta)
    m2, v2, meta2 = load_checkpoint(path)
    assert v2 == vocab and v2.level == level
    assert meta2 == meta
    for k in PARAMS:
        a, b = model.params()[k], m2.params()[k]
        assert b.dtype == dtype and np.array_equal(a, b), k
    # str paths work too
    assert load_checkpoint(str(path))[1] == vocab


def test_round_trip_bytes_and_file_objects(mv):
    model, vocab = mv
    data = checkpoint_bytes(model, vocab, note="n")
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        m2, v2, meta = load_checkpoint(source)
        assert meta == {"note": "n"} and v2 == vocab
        assert np.array_equal(m2.W_h, model.W_h)


def test_extra_arrays_round_trip(mv):
    model, vocab = mv
    extra = {"opt.m.W_h": np.ones((6, 6)), "state.h": np.zeros((2, 6), np.float32),
             "count": np.arange(3)}
    _, _, _, arrays = load_checkpoint(checkpoint_bytes(model, vocab, arrays=extra),
                                      with_arrays=True)
    assert set(arrays) == set(extra)
    for k in extra:
        assert arrays[k].dtype == extra[k].dtype and np.array_equal(arrays[k], extra[k])


def test_save_rejects_mismatch_and_non_json(mv):
    model, _ = mv
    with pytest.raises(CheckpointError):
        checkpoint_bytes(model, Vocab.build("ab"))
    with pytest.raises(CheckpointError):
        checkpoint_bytes(*mv, thing=object())


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, RNNError) and issubclass(CheckpointError, ValueError)


def test_entries_helper_builds_a_valid_file(mv):
    """The hand-built archive the hostile cases start from loads, so each case breaks one thing."""
    m2, v2, meta = load_checkpoint(zip_of(entries_of(*mv, k=1)))
    assert meta == {"k": 1} and v2 == mv[1] and np.array_equal(m2.W_o, mv[0].W_o)


# -- not a checkpoint at all -------------------------------------------------------------------


def test_missing_path(tmp_path):
    assert_rejected(tmp_path / "nope.npz", match="No checkpoint file")
    assert_rejected(str(tmp_path), match="No checkpoint file")  # a directory


@pytest.mark.parametrize("data", [b"", b"hello", b"PK\x03\x04" + b"\0" * 30,
                                  np.random.default_rng(0).bytes(5000)])
def test_not_a_zip(data):
    assert_rejected(data, match="not a checkpoint")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.npz"
    p.write_bytes(b"")
    assert_rejected(p)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated(mv, fraction):
    data = checkpoint_bytes(*mv)
    assert_rejected(data[: int(len(data) * fraction)])


def test_an_npy_file_is_not_a_checkpoint(mv):
    assert_rejected(npy_bytes(mv[0].W_h), match="not a checkpoint")


def test_every_corrupted_byte_ends_in_checkpoint_error_or_loads(mv):
    """Flip bytes all over a valid file: either it still loads or CheckpointError, never else."""
    data = checkpoint_bytes(*mv)
    rng = np.random.default_rng(0)
    rejected = 0
    for pos in range(0, len(data), max(1, len(data) // 300)):
        bad = bytearray(data)
        bad[pos] ^= int(rng.integers(1, 256))
        try:
            load_checkpoint(bytes(bad))
        except CheckpointError:
            rejected += 1
    assert rejected > 50


# -- hostile contents --------------------------------------------------------------------------


class _Payload:
    """Unpickling this calls open(path, 'w'): a visible side effect if pickle ever runs."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_payload_is_live_when_unpickled(tmp_path):
    """Check the payload itself: with allow_pickle=True it does create the file."""
    target = tmp_path / "pwned-control"
    raw = npy_bytes(np.array([_Payload(target)], dtype=object), allow_pickle=True)
    np.lib.format.read_array(io.BytesIO(raw), allow_pickle=True)
    assert target.exists()


@pytest.mark.parametrize("where", ["W_h", ckpt.META_KEY, "x.opt.m.W_h"])
def test_pickle_payload_never_runs(mv, tmp_path, where):
    target = tmp_path / "pwned"
    entries = entries_of(*mv)
    entries[where] = npy_bytes(np.array([_Payload(target)], dtype=object), allow_pickle=True)
    err = assert_rejected(zip_of(entries), match="holds Python objects")
    assert where in str(err)
    assert not target.exists()


def test_object_array_via_savez(mv, tmp_path):
    model, vocab = mv
    p = tmp_path / "obj.npz"
    params = model.params()
    params["W_o"] = np.array([[1, "a"]], dtype=object)
    doc = {"format_version": 1, "vocab": {"tokens": list(vocab.tokens), "level": "char"}}
    np.savez(p, **params, meta_json=np.frombuffer(json.dumps(doc).encode(), np.uint8))
    assert_rejected(p, match="W_o.*holds Python objects")


@pytest.mark.parametrize("header", [
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (2, }",  # unparsable
    b"{'descr': 'not-a-dtype', 'fortran_order': False, 'shape': (2,), }",
    b"{'descr': '<f8', 'shape': (2,), }",  # missing key
    b"__import__('os').system('true')",  # code, not a literal
])
def test_corrupt_header_is_not_called_python_objects(mv, header):
    entries = entries_of(*mv)
    pad = 64 - (10 + len(header) + 1) % 64
    body = header + b" " * pad + b"\n"
    entries["b_h"] = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body + b"\0" * 48
    err = assert_rejected(zip_of(entries), match="b_h")
    assert "Python objects" not in str(err)


def test_bad_magic(mv):
    entries = entries_of(*mv)
    entries["W_i"] = b"\x93NOTNPY" + entries["W_i"][7:]
    assert "Python objects" not in str(assert_rejected(zip_of(entries), match="W_i"))


def test_array_data_cut_short(mv):
    entries = entries_of(*mv)
    entries["W_o"] = entries["W_o"][:-17]
    assert_rejected(zip_of(entries), match="W_o")


def test_npy_header_declaring_a_huge_array(mv):
    """A few bytes whose header claims 8 TB: refused before any allocation."""
    entries = entries_of(*mv)
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (2**40,)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    entries["b_o"] = buf.getvalue() + b"\0" * 64
    assert_rejected(zip_of(entries), match="b_o")


def _patch_declared_sizes(data: bytes, size: int) -> bytes:
    """Set every entry's declared uncompressed size (central directory) to ``size``."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        out[pos + 24 : pos + 28] = struct.pack("<I", size)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def test_zip_bomb_declared_size(mv):
    data = _patch_declared_sizes(checkpoint_bytes(*mv), 2**31)
    assert_rejected(data, match="MiB")


def test_size_limit_applies(mv, monkeypatch):
    data = checkpoint_bytes(*mv)
    monkeypatch.setattr(ckpt, "MAX_BYTES", 1000)
    assert_rejected(data, match="limit")


def test_unsupported_compression(mv):
    data = bytearray(checkpoint_bytes(*mv))
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # compression method field
        pos = data.find(sig)
        while pos != -1:
            data[pos + off : pos + off + 2] = struct.pack("<H", 99)
            pos = data.find(sig, pos + 4)
    assert_rejected(bytes(data))


@pytest.mark.parametrize("missing", [*PARAMS, ckpt.META_KEY])
def test_missing_arrays(mv, missing):
    entries = entries_of(*mv)
    del entries[missing]
    assert_rejected(zip_of(entries), match=missing)


def test_unrelated_zip():
    assert_rejected(zip_of({"readme.txt": b"hi", "data.csv": b"1,2"}), match="missing")


@pytest.mark.parametrize("name,shape", [
    ("W_i", (7,)), ("W_i", (2, 3, 4)), ("W_h", (6, 5)), ("b_h", (5,)), ("b_h", (6, 1)),
    ("W_o", (6, 9)), ("b_o", (3,)), ("W_h", ()),
])
def test_wrong_shapes(mv, name, shape):
    entries = entries_of(*mv)
    entries[name] = npy_bytes(np.zeros(shape))
    assert_rejected(zip_of(entries), match=name)


def test_shapes_that_disagree(mv):
    """Self-consistent but for another H: W_i (H=4) with the rest at H=6."""
    model, vocab = mv
    entries = entries_of(model, vocab)
    entries["W_i"] = npy_bytes(np.zeros((4, vocab.size)))
    assert_rejected(zip_of(entries), match="needs")


def test_sizes_out_of_range(mv):
    entries = entries_of(*mv)
    V = mv[1].size
    entries["W_i"] = npy_bytes(np.zeros((0, V)))
    assert_rejected(zip_of(entries), match="range")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", PARAMS)
def test_non_finite_values(mv, name, value):
    model, vocab = mv
    bad = model.copy()
    bad.params()[name].flat[0] = value
    assert_rejected(zip_of(entries_of(bad, vocab)), match=f"{name}.*NaN or infinite")


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.complex128, np.bool_, np.float16,
                                   "U3", "S4"])
def test_non_float_dtypes(mv, dtype):
    entries = entries_of(*mv)
    entries["W_h"] = npy_bytes(np.zeros((6, 6), dtype=dtype))
    assert_rejected(zip_of(entries), match="W_h")


@pytest.mark.parametrize("value", [np.array([np.nan]), np.array(["a"]), np.array([True])])
def test_bad_extra_arrays(mv, value):
    entries = entries_of(*mv)
    entries["x.opt.m"] = npy_bytes(value)
    with pytest.raises(CheckpointError, match="opt.m"):
        load_checkpoint(zip_of(entries), with_arrays=True)


@pytest.mark.parametrize("vocab_doc,match", [
    ({"tokens": ["<unk>", "a"], "level": "char"}, "expect"),  # too few for V
    ({"tokens": ["<unk>"] + list("abcdefghijklmnop"), "level": "char"}, "expect"),  # too many
    ({"tokens": "not a list", "level": "char"}, "list of strings"),
    ({"tokens": [1, 2, 3], "level": "char"}, "list of strings"),
    ({"tokens": None}, "list of strings"),
    ({"level": "char"}, "list of strings"),
])
def test_vocab_that_does_not_fit(mv, vocab_doc, match):
    model, vocab = mv
    entries = entries_of(model, vocab)
    entries[ckpt.META_KEY] = meta_blob({"format_version": 1, "vocab": vocab_doc})
    assert_rejected(zip_of(entries), match=match)


@pytest.mark.parametrize("change", ["dup", "no_unk", "multichar", "level"])
def test_invalid_vocab_of_right_size(mv, change):
    model, vocab = mv
    tokens = list(vocab.tokens)
    level = "char"
    if change == "dup":
        tokens[2] = tokens[1]
    elif change == "no_unk":
        tokens[0] = "?"
    elif change == "multichar":
        tokens[1] = "ab"
    else:
        level = "sentence"
    entries = entries_of(model, vocab)
    entries[ckpt.META_KEY] = meta_blob({"format_version": 1,
                                        "vocab": {"tokens": tokens, "level": level}})
    assert_rejected(zip_of(entries), match="vocabulary")


@pytest.mark.parametrize("blob", [
    b"{not json", b"\xff\xfe\x00", b"", b"[1, 2]", b'"text"', b"null",
    b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to exhaust the recursion limit
], ids=["syntax", "not-utf8", "empty", "list", "string", "null", "deep-nesting"])
def test_bad_json(mv, blob):
    entries = entries_of(*mv)
    entries[ckpt.META_KEY] = npy_bytes(np.frombuffer(blob, np.uint8))
    assert_rejected(zip_of(entries), match="metadata")


def test_meta_stored_as_wrong_type(mv):
    entries = entries_of(*mv)
    entries[ckpt.META_KEY] = npy_bytes(np.zeros(4))
    assert_rejected(zip_of(entries), match="metadata")
    entries[ckpt.META_KEY] = npy_bytes(np.frombuffer(b"{}", np.uint8).reshape(1, 2))
    assert_rejected(zip_of(entries), match="metadata")


@pytest.mark.parametrize("version", [None, 0, 3, "1", 1.5, True])
def test_wrong_format_version(mv, version):
    model, vocab = mv
    entries = entries_of(model, vocab)
    doc = {"vocab": {"tokens": list(vocab.tokens), "level": "char"}}
    if version is not None:
        doc["format_version"] = version
    entries[ckpt.META_KEY] = meta_blob(doc)
    assert_rejected(zip_of(entries), match="version")


@pytest.mark.parametrize("g", ["tanh", "relu", "sigmoid", "identity"])
def test_activation_round_trip(g):
    vocab = Vocab.build("hello world")
    model = RNN.create(vocab.size, 4, seed=1, init_std=0.3, activation=g)
    back, _, meta = load_checkpoint(checkpoint_bytes(model, vocab))
    assert back.activation == g and "activation" not in meta


def test_version_1_file_loads_as_tanh(mv):
    """Files written before the choice of g carry format version 1 and no activation."""
    model, vocab = mv
    entries = entries_of(model, vocab)
    entries[ckpt.META_KEY] = meta_blob({"format_version": 1, "vocab": {
        "tokens": list(vocab.tokens), "level": "char"}, "note": "old"})
    back, _, meta = load_checkpoint(zip_of(entries))
    assert back.activation == "tanh" and meta == {"note": "old"}
    np.testing.assert_array_equal(back.W_h, model.W_h)


@pytest.mark.parametrize("bad", ["softplus", "", None, 1, ["tanh"]])
def test_unknown_activation_is_rejected(mv, bad):
    assert_rejected(zip_of(entries_of(*mv, activation=bad)), match="Unknown activation")


def test_no_vocab_in_meta(mv):
    entries = entries_of(*mv)
    entries[ckpt.META_KEY] = meta_blob({"format_version": 1, "vocab": ["<unk>", "a"]})
    assert_rejected(zip_of(entries), match="vocabulary")
