"""The bridge to PyTorch: a single-layer ``torch.nn.RNN`` with an output ``nn.Linear``, in and out
as a .safetensors file (read and written by ``rnn.safetensors``: no torch, never pickle).

PyTorch's names and ours::

    weight_ih_l0  (H, V)  ->  W_i        the RNN is fed one-hot vectors x_t of the vocabulary
    weight_hh_l0  (H, H)  ->  W_h
    bias_ih_l0 + bias_hh_l0  ->  b_h     PyTorch adds two hidden biases; one sum is the same model
    <linear>.weight (V, H) -> W_o
    <linear>.bias   (V,)   -> b_o
    nonlinearity tanh | relu -> g

The RNN's tensors may carry any prefix (``rnn.weight_ih_l0`` from a module's ``state_dict()``);
the output layer is the one other ``weight``/``bias`` pair, whatever its prefix (``fc.``,
``linear.``, ``out.``, ... or none). An ``nn.Embedding`` before the RNN (a bias-less weight whose
name holds ``emb``, shaped (V, E) for an RNN of input size E) is folded into the input weights,
``W_i = weight_ih_l0 E^T`` (H, V): a one-hot x_t picks row ids[t] of E, so it is the same model.
An RNN built with ``bias=False`` has neither hidden bias (both are then zero); a Linear with
``bias=False`` has no ``bias`` (zero). ``batch_first`` changes no weight, so it does not matter
here. The file's ``__metadata__`` may hold ``vocab`` (a JSON list of
the tokens, in the order of the one-hot inputs), ``nonlinearity`` (default tanh) and ``level``
(char or word, else guessed from the tokens); the vocabulary may also come as a separate JSON list.

This app's vocabularies start with ``<unk>`` (id 0). A vocabulary elsewhere holding ``<unk>`` is
reordered (rows and columns with it, so the model computes the same); one without it gets an
``<unk>`` prepended with zero weights and a logit of ``UNK_LOGIT`` below the others' range, so the
probabilities of the real tokens stay what PyTorch computes (to within e^-60).
"""

from __future__ import annotations

import json
import re

import numpy as np

from .errors import CheckpointError, RNNError
from .model import RNN
from .safetensors import read_safetensors, safetensors_bytes, write_safetensors
from .vocab import LEVELS, UNK, Vocab

RNN_TENSORS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
NONLINEARITIES = ("tanh", "relu")  # what nn.RNN offers
MAX_HIDDEN, MAX_VOCAB = 4096, 200_000  # as for checkpoints
UNK_LOGIT = 60.0  # an added <unk> scores this far below the smallest output bias
EXPORT_PREFIX = {"rnn": "rnn.", "linear": "fc."}  # names of the exported module's parts


def _find_rnn(tensors: dict[str, np.ndarray]) -> tuple[str, dict[str, np.ndarray]]:
    """The RNN's prefix and its tensors by PyTorch name; refuse extra layers and directions."""
    for name in tensors:
        if re.search(r"_reverse$", name):
            raise CheckpointError(
                f"The file holds '{name}': a bidirectional RNN. Only a one-directional "
                "nn.RNN can be explored here (a bidirectional one reads the text backwards too)."
            )
        m = re.search(r"_l([0-9]+)$", name)
        if m and m.group(1) != "0":
            raise CheckpointError(
                f"The file holds '{name}': an RNN with more than one layer. Only a single-layer "
                "nn.RNN (num_layers=1) can be explored here."
            )
    found = [n for n in tensors if n.endswith("weight_hh_l0")]
    if len(found) != 1:
        raise CheckpointError(
            "The file holds no tensor named 'weight_hh_l0': it is not a PyTorch nn.RNN."
            if not found else f"The file holds {len(found)} RNNs ({', '.join(found)}); one only."
        )
    prefix = found[0][: -len("weight_hh_l0")]
    rnn = {k: tensors[prefix + k] for k in RNN_TENSORS if prefix + k in tensors}
    if "weight_ih_l0" not in rnn:
        raise CheckpointError(f"The tensor '{prefix}weight_ih_l0' is missing.")
    biases = [k for k in ("bias_ih_l0", "bias_hh_l0") if k in rnn]
    if len(biases) == 1:
        other = "bias_hh_l0" if biases[0] == "bias_ih_l0" else "bias_ih_l0"
        raise CheckpointError(f"The tensor '{prefix}{other}' is missing (nn.RNN has both "
                              "biases, or neither with bias=False).")
    return prefix, rnn


def _find_linear(tensors: dict[str, np.ndarray], rnn_prefix: str):
    """The output Linear's weight and bias (bias None if it has none), and their names; and the
    name of an nn.Embedding's weight before the RNN (None without one)."""
    rest = [n for n in tensors if not (n.startswith(rnn_prefix) and n[len(rnn_prefix):]
                                       in RNN_TENSORS)]
    weights = [n for n in rest if n == "weight" or n.endswith(".weight")]
    embeddings = [n for n in weights if "emb" in n.lower() and n[:-6] + "bias" not in tensors]
    if len(embeddings) > 1:
        raise CheckpointError(f"Several embeddings ({', '.join(sorted(embeddings))}): one only.")
    emb = embeddings[0] if embeddings else None
    weights = [n for n in weights if n != emb]
    if not weights:
        raise CheckpointError(
            "The output layer is missing: no tensor named 'weight' or '<name>.weight' besides "
            "the RNN's (an nn.Linear from the hidden state to the vocabulary)."
        )
    if len(weights) > 1:
        raise CheckpointError(
            f"Several tensors could be the output layer ({', '.join(sorted(weights))}): save "
            "only the nn.RNN and the nn.Linear that follows it."
        )
    w = weights[0]
    b = w[: -len("weight")] + "bias"
    extra = sorted(set(rest) - {w, b, emb})
    if extra:
        raise CheckpointError(
            f"The file holds tensors that are neither the RNN's nor the output layer's: "
            f"{', '.join(extra[:5])}. Save only an nn.RNN and the nn.Linear that follows it."
        )
    return w, tensors[w], b, tensors.get(b), emb


def _vocab_list(metadata: dict[str, str], vocab) -> list[str]:
    """The token list, from the argument (JSON text or a list) or the file's metadata."""
    if vocab is None:
        vocab = metadata.get("vocab")
        if vocab is None:
            raise CheckpointError(
                "No vocabulary: the file's metadata has no 'vocab' entry, so give one as a "
                "JSON list of the tokens, in the order of the model's inputs."
            )
    if isinstance(vocab, (bytes, bytearray)):
        vocab = vocab.decode("utf-8", errors="replace")
    if isinstance(vocab, str):
        try:
            vocab = json.loads(vocab)
        except (json.JSONDecodeError, RecursionError) as e:
            raise CheckpointError(f"The vocabulary is not valid JSON ({e.msg}).") from e
    if (not isinstance(vocab, list) or not vocab
            or not all(isinstance(t, str) and t for t in vocab)):
        raise CheckpointError("The vocabulary must be a JSON list of non-empty strings.")
    if len(set(vocab)) != len(vocab):
        raise CheckpointError("The vocabulary lists a token twice.")
    return vocab


def _as_float(arr: np.ndarray) -> np.ndarray:
    """float64 stays float64; float32, float16 and bfloat16 (read as float32) become float32."""
    return arr.astype(np.float64 if arr.dtype == np.float64 else np.float32)


def import_pytorch(source, vocab=None, level: str | None = None) -> tuple[RNN, Vocab, dict]:
    """Read a PyTorch ``nn.RNN`` + ``nn.Linear`` saved as safetensors into this package's model.

    Parameters
    ----------
    source : str, Path, bytes or binary file
        The .safetensors file.
    vocab : list of str, or JSON text of one, optional
        The tokens in the order of the one-hot inputs; from the file's metadata when None.
    level : "char" or "word", optional
        How text is split into tokens; from the metadata, else "char" if every token is one
        character.

    Returns
    -------
    model : RNN
    vocab : Vocab
    meta : dict
        What a checkpoint records of the import (``note``, ``source``, ``unk``).

    Raises
    ------
    CheckpointError
        With a plain message for anything this model cannot be: more than one layer,
        bidirectional, a missing tensor, wrong shapes, NaN values, a vocabulary that does not fit.
    """
    tensors, metadata = read_safetensors(source)
    for key, ok, why in (("num_layers", "1", "more than one layer"),
                         ("bidirectional", "false", "a bidirectional RNN")):
        if key in metadata and metadata[key].strip().lower() != ok:
            raise CheckpointError(f"The file's metadata says {key}={metadata[key]}: {why}. Only "
                                  "a single-layer, one-directional nn.RNN can be explored here.")
    prefix, rnn = _find_rnn(tensors)
    w_name, W_o, b_name, b_o, emb_name = _find_linear(tensors, prefix)
    g = metadata.get("nonlinearity", "tanh").strip().lower()
    if g not in NONLINEARITIES:
        raise CheckpointError(f"The file's nonlinearity is {g!r}; nn.RNN offers tanh or relu.")

    W_i, W_h = rnn["weight_ih_l0"], rnn["weight_hh_l0"]
    if W_h.ndim != 2 or W_h.shape[1] == 0:
        raise CheckpointError(f"'{prefix}weight_hh_l0' must be a matrix (H, H), got "
                              f"{W_h.shape}.")
    H = W_h.shape[1]
    if W_h.shape[0] in (3 * H, 4 * H):
        kind = "a GRU" if W_h.shape[0] == 3 * H else "an LSTM"
        raise CheckpointError(f"'{prefix}weight_hh_l0' is shaped {W_h.shape}, as in {kind}: "
                              "only a plain nn.RNN can be explored here.")
    if W_o.ndim != 2:
        raise CheckpointError(f"'{w_name}' must be a matrix (V, H), got {W_o.shape}.")
    V = W_o.shape[0]
    if not (1 <= H <= MAX_HIDDEN and 2 <= V <= MAX_VOCAB):
        raise CheckpointError(f"Sizes out of range: hidden size {H}, vocabulary {V}.")
    want = {f"{prefix}weight_hh_l0": (W_h, (H, H)), w_name: (W_o, (V, H))}
    if emb_name is None:
        want[f"{prefix}weight_ih_l0"] = (W_i, (H, V))
    else:  # nn.Embedding(V, E) -> nn.RNN(E, H): E is the RNN's input size
        emb = tensors[emb_name]
        E = W_i.shape[1] if W_i.ndim == 2 else -1
        want[f"{prefix}weight_ih_l0"] = (W_i, (H, E if E > 0 else 1))
        want[emb_name] = (emb, (V, max(E, 1)))
    if "bias_ih_l0" in rnn:
        want[f"{prefix}bias_ih_l0"] = (rnn["bias_ih_l0"], (H,))
        want[f"{prefix}bias_hh_l0"] = (rnn["bias_hh_l0"], (H,))
    if b_o is not None:
        want[b_name] = (b_o, (V,))
    for name, (arr, shape) in want.items():
        if arr.shape != shape:
            hint = (" (the RNN's input size must be the vocabulary size, for one-hot inputs, or "
                    "the size of an nn.Embedding saved with it)"
                    if name.endswith("weight_ih_l0") and emb_name is None else "")
            raise CheckpointError(f"'{name}' is shaped {arr.shape}, but the model needs "
                                  f"{shape}{hint}.")
        if not np.all(np.isfinite(arr)):
            raise CheckpointError(f"The tensor '{name}' holds NaN or infinite values.")
    tokens = _vocab_list(metadata, vocab)
    if len(tokens) != V:
        raise CheckpointError(
            f"The vocabulary has {len(tokens)} tokens but the model's output layer has {V}: "
            "they must match, one token per input and output."
        )
    level = level or metadata.get("level") or (
        "char" if all(len(t) == 1 for t in tokens if t != UNK) else "word")
    if level not in LEVELS:
        raise CheckpointError(f"Unknown vocabulary level {level!r}: 'char' or 'word'.")

    if emb_name is not None:  # x_t one-hot picks row ids[t] of the embedding: W_i = W_ih E^T
        W_i = np.dot(_as_float(W_i).astype(np.float64), _as_float(tensors[emb_name]).T).astype(
            np.result_type(_as_float(W_i), _as_float(tensors[emb_name])))
    params = {"W_i": _as_float(W_i), "W_h": _as_float(W_h), "W_o": _as_float(W_o)}
    dtype = np.result_type(*params.values(), *(_as_float(b) for b in
                                               (rnn.get("bias_ih_l0"), b_o) if b is not None))
    if "bias_ih_l0" in rnn:  # the two hidden biases are one: b_h = b_ih + b_hh
        params["b_h"] = _as_float(rnn["bias_ih_l0"]).astype(dtype) + _as_float(rnn["bias_hh_l0"])
    else:  # nn.RNN(bias=False)
        params["b_h"] = np.zeros(H, dtype)
    params["b_o"] = np.zeros(V, dtype) if b_o is None else _as_float(b_o)
    params = {k: np.asarray(v, dtype) for k, v in params.items()}
    params, tokens, unk = _with_unk_first(params, tokens)
    try:
        model = RNN(**params, activation=g)
        vocab_out = Vocab(tuple(tokens), level)
    except RNNError as e:
        raise CheckpointError(f"The vocabulary does not fit this app: {e}") from e
    note = f"imported from PyTorch nn.RNN ({g}, H={H}, V={V})"
    return model, vocab_out, {"note": note, "source": "pytorch", "unk": unk}


def _with_unk_first(params: dict, tokens: list[str]):
    """Put <unk> at id 0: move it there if it is elsewhere, add it if it is missing."""
    if tokens[0] == UNK:
        return params, tokens, "kept"
    if UNK in tokens:  # a permutation of the vocabulary axis: the same model
        j = tokens.index(UNK)
        order = np.array([j, *range(j), *range(j + 1, len(tokens))])
        p = dict(params, W_i=params["W_i"][:, order], W_o=params["W_o"][order],
                 b_o=params["b_o"][order])
        return p, [tokens[i] for i in order], "moved"
    H = params["W_h"].shape[0]
    dt = params["W_h"].dtype
    b_unk = params["b_o"].min() - UNK_LOGIT  # W_o's row is zero: its logit is this bias
    p = dict(params, W_i=np.concatenate([np.zeros((H, 1), dt), params["W_i"]], axis=1),
             W_o=np.concatenate([np.zeros((1, H), dt), params["W_o"]]),
             b_o=np.concatenate([[b_unk], params["b_o"]]).astype(dt))
    return p, [UNK, *tokens], "added"


def export_tensors(model: RNN, vocab: Vocab) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors (PyTorch names) and metadata of a model as an ``nn.RNN`` + ``nn.Linear``."""
    if model.activation not in NONLINEARITIES:
        raise RNNError(f"PyTorch's nn.RNN offers tanh and relu only; this model uses "
                       f"{model.activation}, so it cannot be exported as one.")
    if vocab.size != model.vocab_size:
        raise RNNError("The vocabulary does not fit the model.")
    r, fc = EXPORT_PREFIX["rnn"], EXPORT_PREFIX["linear"]
    tensors = {f"{r}weight_ih_l0": model.W_i, f"{r}weight_hh_l0": model.W_h,
               f"{r}bias_ih_l0": model.b_h, f"{r}bias_hh_l0": np.zeros_like(model.b_h),
               f"{fc}weight": model.W_o, f"{fc}bias": model.b_o}
    metadata = {"vocab": json.dumps(list(vocab.tokens), ensure_ascii=False),
                "level": vocab.level, "nonlinearity": model.activation,
                "hidden_size": str(model.hidden_size), "vocab_size": str(model.vocab_size),
                "num_layers": "1", "bidirectional": "false", "source": "rnn-explorer"}
    return tensors, metadata


def export_pytorch(dest, model: RNN, vocab: Vocab) -> None:
    """Write ``model`` as a .safetensors file that ``torch.nn.RNN`` + ``nn.Linear`` load."""
    write_safetensors(dest, *export_tensors(model, vocab))


def pytorch_bytes(model: RNN, vocab: Vocab) -> bytes:
    """The bytes of ``export_pytorch`` (for downloads)."""
    return safetensors_bytes(*export_tensors(model, vocab))
