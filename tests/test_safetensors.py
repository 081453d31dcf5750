"""rnn.safetensors: round trips, the reference implementation's view of our files, hostile files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from rnn import CheckpointError
from rnn.safetensors import (
    MAX_HEADER_BYTES,
    read_safetensors,
    safetensors_bytes,
    write_safetensors,
)


def raw_file(header: dict, body: bytes, pad: bytes = b"") -> bytes:
    """A safetensors file from a header dict and raw data, built by hand."""
    text = json.dumps(header).encode() + pad
    return struct.pack("<Q", len(text)) + text + body


def one_tensor(dtype="F32", shape=(2, 3), offsets=(0, 24), body=None, **extra) -> bytes:
    entry = {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets), **extra}
    return raw_file({"w": entry}, bytes(24) if body is None else body)


def rejected(data, match: str) -> str:
    with pytest.raises(CheckpointError, match=match) as info:
        read_safetensors(data)
    msg = str(info.value)
    assert msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(tmp_path, dtype):
    rng = np.random.default_rng(0)
    tensors = {"a.weight": rng.standard_normal((3, 4)).astype(dtype),
               "b": rng.standard_normal(5).astype(dtype), "empty": np.zeros((0, 3), dtype),
               "scalar": np.array(2.5, dtype)}
    meta = {"vocab": json.dumps(["<unk>", "é", " "]), "x": ""}
    write_safetensors(tmp_path / "m.safetensors", tensors, meta)
    back, back_meta = read_safetensors(tmp_path / "m.safetensors")
    assert back_meta == meta
    assert back.keys() == tensors.keys()
    for k, v in tensors.items():
        assert back[k].dtype == dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)
        assert back[k].flags.writeable
    data = safetensors_bytes(tensors, meta)
    assert int.from_bytes(data[:8], "little") % 8 == 0  # data starts 8-byte aligned
    assert read_safetensors(data)[1] == meta


def test_half_precision_is_widened():
    halves = np.array([1.5, -2.0, 65504.0], np.float16)
    bf16 = (np.array([1.5, -2.0, 3.0e38], np.float32).view(np.uint32) >> 16).astype("<u2")
    header = {"h": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]},
              "b": {"dtype": "BF16", "shape": [3], "data_offsets": [6, 12]}}
    tensors, _ = read_safetensors(raw_file(header, halves.tobytes() + bf16.tobytes()))
    np.testing.assert_array_equal(tensors["h"], halves)
    assert tensors["b"].dtype == np.float32
    np.testing.assert_allclose(tensors["b"], [1.5, -2.0, 3.0e38], rtol=1e-2)


def test_reference_implementation_agrees():
    """The safetensors package (a test-only reference) reads our files and writes files we read."""
    st = pytest.importorskip("safetensors.numpy", reason="the safetensors package is not installed")
    rng = np.random.default_rng(1)
    tensors = {"rnn.weight_ih_l0": rng.standard_normal((4, 6)),
               "fc.bias": rng.standard_normal(6).astype(np.float32)}
    ours = safetensors_bytes(tensors, {"vocab": "[]"})
    theirs = st.load(ours)
    for k, v in tensors.items():
        np.testing.assert_array_equal(theirs[k], v)
    back, meta = read_safetensors(st.save(tensors, metadata={"nonlinearity": "relu"}))
    assert meta == {"nonlinearity": "relu"}
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k], v)


# -- what is refused, and why ------------------------------------------------------------------


def test_short_or_truncated_files():
    rejected(b"", "shorter than 8 bytes")
    rejected(b"\x10\0\0\0\0\0\0\0{}", "past the end")
    good = one_tensor()
    rejected(good[:-1], "points outside")


def test_header_size_cap():
    rejected(struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}", "header claims")
    rejected(struct.pack("<Q", 2**64 - 1) + b"{}", "header claims")


def test_file_size_cap(tmp_path):
    with pytest.raises(CheckpointError, match="over the 0 MB limit"):
        read_safetensors(one_tensor(), max_bytes=10)


@pytest.mark.parametrize("header,match", [
    (b"[1, 2]", "not a JSON object"),
    (b"{\"w\": ", "not valid JSON"),
    (b"\xff{}", "not a JSON object"),
    (b"{\"a\": 1, \"a\": 2}", "twice"),
    (b"{\"__metadata__\": {\"k\": 1}}", "text to text"),
    (b"{\"__metadata__\": [\"k\"]}", "text to text"),
])
def test_malformed_headers(header, match):
    rejected(struct.pack("<Q", len(header)) + header, match)


@pytest.mark.parametrize("kw,match", [
    ({"dtype": "I64", "offsets": (0, 48)}, "only F64, F32, F16, BF16"),
    ({"dtype": "U8", "shape": (24,)}, "dtype"),
    ({"dtype": ["F32"]}, "dtype"),
    ({"dtype": "F32", "shape": (2, 2)}, "needs 16 bytes"),
    ({"shape": (2, -3)}, "malformed"),
    ({"shape": (2, 3.0)}, "malformed"),
    ({"shape": "2,3"}, "malformed"),
    ({"offsets": (0, 24, 48)}, "malformed"),
    ({"offsets": (24, 0)}, "outside"),
    ({"offsets": (0, 48)}, "outside"),
    ({"offsets": (0, 24), "extra": 1}, "exactly dtype, shape and data_offsets"),
])
def test_bad_entries(kw, match):
    kw = dict(kw)
    extra = {"extra": kw.pop("extra")} if "extra" in kw else {}
    rejected(one_tensor(**kw, **extra), match)


def test_overlapping_tensors_gaps_and_trailing_bytes():
    both = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
            "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}
    rejected(raw_file(both, bytes(24)), "overlaps")
    gap = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}
    rejected(raw_file(gap, bytes(24)), "gap")
    rejected(one_tensor(body=bytes(32)), "8 bytes after its last tensor")


def test_many_tensors_refused():
    header = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(65)}
    rejected(raw_file(header, b""), "at most 64")


def test_every_corrupted_byte_ends_in_checkpoint_error_or_loads():
    data = safetensors_bytes({"a": np.arange(6.0).reshape(2, 3), "b": np.ones(3, np.float32)},
                             {"vocab": "[\"<unk>\", \"a\"]"})
    rng = np.random.default_rng(0)
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= int(rng.integers(1, 256))
        try:
            read_safetensors(bytes(bad))
        except CheckpointError:
            pass


def test_writer_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(CheckpointError, match="float32 or float64"):
        safetensors_bytes({"a": np.arange(3)})
    with pytest.raises(CheckpointError, match="text to text"):
        safetensors_bytes({"a": np.ones(2)}, {"n": 3})
