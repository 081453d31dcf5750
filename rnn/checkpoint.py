"""Checkpoints: a model, its vocabulary and JSON metadata in one ``.npz`` file.

Loading never unpickles (``allow_pickle=False``) and checks everything, so a corrupt or hostile
file ends in a ``CheckpointError`` with a plain message, never in running code or a crash.

Format versions: 1 had no choice of activation (it is tanh); 2 records the activation g.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .activation import ACTIVATIONS
from .errors import CheckpointError
from .model import PARAMS, RNN
from .vocab import LEVELS, Vocab

FORMAT_VERSION = 2
READS_VERSIONS = (1, 2)  # version 1 files load as tanh models
MAX_BYTES = 256 * 2**20  # largest uncompressed checkpoint we read: guards against zip bombs
MAX_HIDDEN = 4096
MAX_VOCAB = 200_000
META_KEY = "meta_json"  # the JSON metadata, stored as a uint8 array of UTF-8 bytes
# Limits on the metadata, checked before it is parsed: json.loads of a few hundred MB of "[],"
# takes gigabytes and holds the interpreter lock for a minute. What this project writes is far
# smaller: a bounded history (rnn.history.MAX_HISTORY points) and the vocabulary.
MAX_META_BYTES = 4 * 2**20  # 4 MiB of UTF-8 JSON (a full history and 100k tokens need ~2)
MAX_META_VALUES = 400_000  # JSON values in it (lists, objects, items: a full history and
# a 200k-token vocabulary need ~260k)
MAX_META_DEPTH = 16  # nesting of lists and objects (this project writes 3)
# |w| <= 1e6 keeps every a_t and y_t finite even in float32 (at most (H + 2) * 1e6 for
# H <= 4096); larger weights only come from a broken or hostile file.
MAX_ABS_WEIGHT = 1e6


def save_checkpoint(path, model: RNN, vocab: Vocab, *, arrays: dict | None = None, **meta) -> None:
    """Write ``model``, ``vocab`` and JSON-serialisable ``meta`` to ``path`` (path or binary file).

    ``arrays`` holds extra named arrays (e.g. optimizer state) stored beside the parameters.
    """
    if vocab.size != model.vocab_size:
        raise CheckpointError("The vocabulary does not fit the model.")
    _check_values(model.params())  # never write a file that load_checkpoint refuses
    doc = {"format_version": FORMAT_VERSION, "vocab": {"tokens": list(vocab.tokens),
                                                       "level": vocab.level},
           "activation": model.activation, **meta}
    try:
        blob = np.frombuffer(json.dumps(doc, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"Checkpoint metadata must be JSON-serialisable: {e}") from e
    if blob.size > MAX_META_BYTES:
        raise CheckpointError(f"The metadata is {blob.size / 2**20:.1f} MiB, over the "
                              f"{MAX_META_BYTES / 2**20:g} MiB a checkpoint may hold.")
    extra = {f"x.{k}": np.asarray(v) for k, v in (arrays or {}).items()}
    np.savez_compressed(path, **model.params(), **extra, **{META_KEY: blob})


def checkpoint_bytes(model: RNN, vocab: Vocab, **kwargs) -> bytes:
    """The bytes of a checkpoint file (for downloads)."""
    buf = io.BytesIO()
    save_checkpoint(buf, model, vocab, **kwargs)
    return buf.getvalue()


def _open(source) -> zipfile.ZipFile:
    """Open a path, bytes or binary file as a zip, with plain errors."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, Path)) and not Path(source).is_file():
        raise CheckpointError(f"No checkpoint file at '{source}'.")
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, NotImplementedError) as e:
        # (NotImplementedError: a damaged header can claim a zip version zipfile cannot read)
        raise CheckpointError(
            "This is not a checkpoint file: a checkpoint is a .npz (zip) archive "
            f"written by RNN Explorer ({type(e).__name__})."
        ) from e


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def _read_shape(zf: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an array's .npy header declares (nothing else is read)."""
    with zf.open(name + ".npy") as f:
        read_header = _HEADER_READERS.get(np.lib.format.read_magic(f))
        if read_header is None:
            raise CheckpointError(f"Array '{name}' is in an unsupported .npy format.")
        shape, _, dtype = read_header(f)
    return shape, dtype


def _read_array(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    """One array, after checking its header: no Python objects, no more data than stored."""
    try:
        info = zf.getinfo(name + ".npy")
        shape, dtype = _read_shape(zf, name)  # the header alone first
        if dtype.hasobject:  # object arrays need pickle, which we refuse
            raise CheckpointError(f"Array '{name}' holds Python objects, which are never loaded.")
        if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > info.file_size:
            raise CheckpointError(f"Array '{name}' declares more data than the file holds.")
        with zf.open(info) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except CheckpointError:
        raise
    except Exception as e:  # untrusted bytes: numpy's header parser alone raises ValueError,
        # SyntaxError or tokenize.TokenError; zipfile raises BadZipFile, zlib.error,
        # NotImplementedError (compression), RuntimeError (encryption), EOFError...
        raise CheckpointError(f"Array '{name}' is damaged or truncated ({e}).") from e


def load_checkpoint(source, with_arrays: bool = False, *, max_hidden: int = MAX_HIDDEN,
                    max_vocab: int = MAX_VOCAB):
    """Read a checkpoint written by ``save_checkpoint``, checking every part of it.

    Parameters
    ----------
    source : str, Path, bytes or binary file
    with_arrays : bool
        Also return the extra arrays (optimizer state) as a fourth value.
    max_hidden, max_vocab : int
        Largest H and V to load, checked from W_i's header before any array is read (a server
        passes what it can serve).

    Returns
    -------
    model : RNN
    vocab : Vocab
    meta : dict
        The metadata (config, history, ...), without the vocabulary and format version.

    Raises
    ------
    CheckpointError
        For anything that is not a valid checkpoint, with a message saying what is wrong.
    """
    with _open(source) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        total = sum(i.file_size for i in infos.values())
        if total > MAX_BYTES:
            raise CheckpointError(
                f"This checkpoint unpacks to {total / 2**20:.0f} MiB, over the "
                f"{MAX_BYTES // 2**20} MiB limit."
            )
        names = {n[:-4] for n in infos if n.endswith(".npy")}
        missing = [k for k in (*PARAMS, META_KEY) if k not in names]
        if missing:
            raise CheckpointError(
                f"This file is missing {', '.join(missing)}: it is not an RNN Explorer checkpoint."
            )
        meta_size = infos[META_KEY + ".npy"].file_size
        if meta_size > MAX_META_BYTES + 1024:  # the .npy header is at most a few hundred bytes
            raise CheckpointError(
                f"The checkpoint's metadata is {meta_size / 2**20:.1f} MiB, over the "
                f"{MAX_META_BYTES / 2**20:g} MiB limit.")
        _check_sizes(zf, min(max_hidden, MAX_HIDDEN), min(max_vocab, MAX_VOCAB))
        meta = _read_meta(_read_array(zf, META_KEY))
        params = {k: _read_array(zf, k) for k in PARAMS}
        extra = {n[2:]: _read_array(zf, n) for n in names if n.startswith("x.")}
    model = _check_params(params, meta.pop("activation", "tanh"))
    vocab = _check_vocab(meta.pop("vocab"), model.vocab_size)
    meta.pop("format_version")
    _check_meta(meta)
    for k, v in extra.items():
        if v.dtype.kind not in "fiu" or not np.all(np.isfinite(v)):
            raise CheckpointError(f"Extra array '{k}' must hold finite numbers.")
    return (model, vocab, meta, extra) if with_arrays else (model, vocab, meta)


def _check_sizes(zf: zipfile.ZipFile, max_hidden: int, max_vocab: int) -> None:
    """H and V from W_i's header, against the limits, before the arrays are read."""
    try:
        shape, dtype = _read_shape(zf, "W_i")
    except CheckpointError:
        raise
    except Exception as e:  # as in _read_array: untrusted header bytes
        raise CheckpointError(f"Array 'W_i' is damaged or truncated ({e}).") from e
    if dtype.hasobject:  # object arrays need pickle, which we refuse
        raise CheckpointError("Array 'W_i' holds Python objects, which are never loaded.")
    if len(shape) != 2:
        raise CheckpointError(f"W_i must be a matrix (H, V), got shape {shape}.")
    H, V = shape
    if H > max_hidden or V > max_vocab:
        raise CheckpointError(f"This model has {H} hidden neurons and a vocabulary of {V} tokens; "
                              f"at most {max_hidden} and {max_vocab} are loaded here.")


def _read_meta(blob: np.ndarray) -> dict:
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise CheckpointError("The checkpoint's metadata is not stored as text.")
    raw = blob.tobytes()
    _check_json_shape(raw)
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"The checkpoint's metadata is not valid JSON ({e}).") from e
    if not isinstance(meta, dict):
        raise CheckpointError("The checkpoint's metadata must be a JSON object.")
    version = meta.get("format_version")
    if version not in READS_VERSIONS or isinstance(version, bool):
        raise CheckpointError(
            f"Checkpoint format version {version!r} is not supported (this version reads "
            f"{', '.join(map(str, READS_VERSIONS))})."
        )
    if not isinstance(meta.get("vocab"), dict):
        raise CheckpointError("The checkpoint has no vocabulary.")
    return meta


def _check_json_shape(raw: bytes) -> None:
    """Refuse metadata too large, with too many values or nested too deep, before parsing it."""
    if len(raw) > MAX_META_BYTES:
        raise CheckpointError(f"The checkpoint's metadata is {len(raw) / 2**20:.1f} MiB, over "
                              f"the {MAX_META_BYTES / 2**20:g} MiB limit.")
    b = np.frombuffer(raw, np.uint8)
    # Which bytes lie inside a string literal, where brackets do not nest (the brackets corpus
    # has '[' tokens): a quote counts unless an odd run of backslashes precedes it. In NumPy,
    # not a regex, whose backtracking stack took 1 GB on one 8 MB string.
    i = np.arange(b.size, dtype=np.int32)
    last_plain = np.maximum.accumulate(np.where(b != ord("\\"), i, -1))  # (N,) int32
    escaped = np.zeros(b.size, bool)
    escaped[1:] = (i[:-1] - last_plain[:-1]) % 2 == 1  # odd run of backslashes just before
    quotes = (b == ord('"')) & ~escaped
    outside = np.cumsum(quotes, dtype=np.int32) % 2 == 0
    outside &= ~quotes
    opens = outside & ((b == ord("[")) | (b == ord("{")))
    closes = outside & ((b == ord("]")) | (b == ord("}")))
    values = int(np.count_nonzero(opens)) + int(np.count_nonzero(outside & (b == ord(","))))
    if values > MAX_META_VALUES:
        raise CheckpointError(f"The checkpoint's metadata holds over {MAX_META_VALUES:,} values, "
                              "more than any checkpoint needs.")
    depth = np.cumsum(opens.astype(np.int32) - closes, dtype=np.int32)
    if depth.max(initial=0) > MAX_META_DEPTH:
        raise CheckpointError(f"The checkpoint's metadata is nested over {MAX_META_DEPTH} levels "
                              "deep.")


def _check_values(params: dict[str, np.ndarray]) -> None:
    """Every parameter finite and within MAX_ABS_WEIGHT (so the forward pass stays finite)."""
    for k, v in params.items():
        if not np.all(np.isfinite(v)):
            raise CheckpointError(f"{k} holds NaN or infinite values.")
        if v.size and float(np.max(np.abs(v))) > MAX_ABS_WEIGHT:
            raise CheckpointError(f"{k} holds values up to {float(np.max(np.abs(v))):.3g}; "
                                  f"weights beyond ±{MAX_ABS_WEIGHT:g} are not loaded.")


def _check_params(params: dict[str, np.ndarray], activation: str = "tanh") -> RNN:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise CheckpointError(
            f"Unknown activation {activation!r}: this version knows {', '.join(ACTIVATIONS)}."
        )
    for k, v in params.items():
        if v.dtype not in (np.float32, np.float64):
            raise CheckpointError(f"{k} must hold float32 or float64 numbers, not {v.dtype}.")
    W_i = params["W_i"]
    if W_i.ndim != 2:
        raise CheckpointError(f"W_i must be a matrix (H, V), got shape {W_i.shape}.")
    H, V = W_i.shape
    if not (1 <= H <= MAX_HIDDEN and 2 <= V <= MAX_VOCAB):
        raise CheckpointError(f"Sizes out of range: hidden size {H}, vocabulary {V}.")
    want = {"W_i": (H, V), "W_h": (H, H), "b_h": (H,), "W_o": (V, H), "b_o": (V,)}
    for k, shape in want.items():
        if params[k].shape != shape:
            raise CheckpointError(
                f"{k} has shape {params[k].shape}, but W_i {W_i.shape} needs {shape}."
            )
    _check_values(params)
    dtype = np.result_type(*params.values())
    return RNN(**{k: v.astype(dtype, copy=False) for k, v in params.items()}, activation=activation)


def _check_vocab(doc: dict, V: int) -> Vocab:
    tokens, level = doc.get("tokens"), doc.get("level", "char")
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise CheckpointError("The checkpoint's vocabulary must be a list of strings.")
    if level not in LEVELS:
        raise CheckpointError(f"Unknown vocabulary level {level!r}.")
    if len(tokens) != V:
        raise CheckpointError(
            f"The vocabulary has {len(tokens)} tokens but the weights expect {V}."
        )
    try:
        return Vocab(tuple(tokens), level)
    except ValueError as e:
        raise CheckpointError(f"The checkpoint's vocabulary is invalid: {e}") from e


def _check_meta(meta: dict) -> None:
    """The metadata the pages and ``Trainer.resume`` read has the right types and values."""
    from .meta import ModelMeta  # meta imports train, which imports this module lazily

    ModelMeta.from_dict(meta)
