"""A small, strict reader and writer of the safetensors format, in NumPy (no torch, no pickle).

The format::

    8 bytes        N, the header's length, unsigned little-endian
    N bytes        a JSON object: {"name": {"dtype": "F32", "shape": [H, V],
                   "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "text", ...}}
    the rest       the tensors' raw little-endian bytes; offsets count from the start of this part

Reading checks everything before it trusts anything: the header's size, the JSON, each entry's
dtype (F64, F32, F16, BF16 only), that shape and offsets agree on the byte count, and that the
tensors cover the data exactly, without overlaps or gaps (as the format's reference implementation
demands). Anything else ends in a ``CheckpointError`` with a plain message.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .errors import CheckpointError

MAX_HEADER_BYTES = 16 * 2**20  # a header holds names, shapes and the vocabulary: never this big
MAX_FILE_BYTES = 256 * 2**20  # as for checkpoints
MAX_TENSORS = 64  # an nn.RNN and its Linear are six
DTYPES = {"F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
          "BF16": np.dtype("<u2")}  # bfloat16: the top half of a float32, widened on reading
WRITES = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32"}


def _read_bytes(source, limit: int) -> bytes:
    """The bytes of a path, bytes or binary file, refusing more than ``limit``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file():
            raise CheckpointError(f"No file at '{source}'.")
        if p.stat().st_size > limit:
            raise CheckpointError(f"'{source}' is over the {limit // 2**20} MB limit.")
        data = p.read_bytes()
    else:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise CheckpointError(f"This file is over the {limit // 2**20} MB limit.")
    return data


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise CheckpointError("The safetensors header names a key twice.")
    return dict(pairs)


def read_safetensors(source, max_bytes: int = MAX_FILE_BYTES
                     ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a .safetensors file.

    Parameters
    ----------
    source : str, Path, bytes or binary file
    max_bytes : int
        Larger files are refused before they are parsed.

    Returns
    -------
    tensors : dict of str to array
        Float arrays in native byte order (float16 stays float16; bfloat16 becomes float32).
    metadata : dict of str to str
        The header's ``__metadata__`` (empty when absent).

    Raises
    ------
    CheckpointError
        For anything that is not a well-formed safetensors file of float tensors.
    """
    data = _read_bytes(source, max_bytes)
    if len(data) < 8:
        raise CheckpointError("This is not a safetensors file: it is shorter than 8 bytes.")
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"This is not a safetensors file we read: its header claims {n} bytes "
            f"(at most {MAX_HEADER_BYTES // 2**20} MB)."
        )
    if 8 + n > len(data):
        raise CheckpointError("The safetensors header runs past the end of the file (truncated).")
    raw = data[8: 8 + n]
    if not raw.startswith(b"{"):
        raise CheckpointError("This is not a safetensors file: its header is not a JSON object.")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"The safetensors header is not valid JSON ({e}).") from e
    if not isinstance(header, dict):
        raise CheckpointError("The safetensors header must be a JSON object.")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError("The safetensors __metadata__ must map text to text.")
    if len(header) > MAX_TENSORS:
        raise CheckpointError(f"The file holds {len(header)} tensors; at most {MAX_TENSORS} "
                              "are read.")
    body = memoryview(data)[8 + n:]
    spans = []
    tensors = {}
    for name, entry in header.items():
        begin, end, dtype, shape = _check_entry(name, entry, len(body))
        spans.append((begin, end, name))
        arr = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape)
        if dtype == DTYPES["BF16"]:
            arr = (arr.astype(np.uint32) << 16).view(np.float32)  # bfloat16 -> float32, exactly
        tensors[name] = arr.astype(arr.dtype.newbyteorder("="))  # a copy, native order
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            what = "overlaps the tensor before it" if begin < pos else "leaves a gap before it"
            raise CheckpointError(f"Tensor '{name}' {what} in the data.")
        pos = end
    if pos != len(body):
        raise CheckpointError(f"The file holds {len(body) - pos} bytes after its last tensor.")
    return tensors, metadata


def _check_entry(name: str, entry, size: int):
    """The offsets, dtype and shape of one header entry, after checking they agree."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"Tensor '{name}' needs exactly dtype, shape and data_offsets.")
    dtype = DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise CheckpointError(
            f"Tensor '{name}' has dtype {entry['dtype']!r}; only {', '.join(DTYPES)} are read."
        )
    shape, offsets = entry["shape"], entry["data_offsets"]
    ints = (isinstance(shape, list) and isinstance(offsets, list) and len(offsets) == 2
            and all(type(x) is int and x >= 0 for x in [*shape, *offsets]))
    if not ints or len(shape) > 8:
        raise CheckpointError(f"Tensor '{name}' has a malformed shape or data_offsets.")
    begin, end = offsets
    if not begin <= end <= size:
        raise CheckpointError(f"Tensor '{name}' points outside the file's data.")
    count = int(np.prod(shape, dtype=np.float64))
    if count * dtype.itemsize != end - begin:
        raise CheckpointError(
            f"Tensor '{name}' is shaped {tuple(shape)}, which needs {count * dtype.itemsize} "
            f"bytes of {entry['dtype']}, but it is given {end - begin}."
        )
    return begin, end, dtype, tuple(shape)


def write_safetensors(dest, tensors: dict[str, np.ndarray],
                      metadata: dict[str, str] | None = None) -> None:
    """Write float32/float64 ``tensors`` and text ``metadata`` to a path or binary file."""
    header: dict = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise CheckpointError("safetensors metadata must map text to text.")
        header["__metadata__"] = dict(metadata)
    blobs, pos = [], 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        kind = WRITES.get(arr.dtype)
        if kind is None:
            raise CheckpointError(f"Tensor '{name}' must be float32 or float64, not {arr.dtype}.")
        blob = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": kind, "shape": list(arr.shape),
                        "data_offsets": [pos, pos + len(blob)]}
        blobs.append(blob)
        pos += len(blob)
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned, as the spec allows
    out = [len(text).to_bytes(8, "little"), text, *blobs]
    if isinstance(dest, (str, Path)):
        Path(dest).write_bytes(b"".join(out))
    else:
        for part in out:
            dest.write(part)


def safetensors_bytes(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None
                      ) -> bytes:
    """The bytes of a safetensors file (for downloads)."""
    buf = io.BytesIO()
    write_safetensors(buf, tensors, metadata)
    return buf.getvalue()
