"""The Explorer's step view as data: the trace of one (model, text), packed once for the browser.

The browser draws every step from this payload and never asks the server again until the text
or the model changes. Every number in it is a ``Trace`` number from ``model.forward`` (or a
parameter of the model), cast to float32.

Wire format (little-endian), one ``bytes`` object::

    b"RNNX"  u32 n  header: n bytes of UTF-8 JSON  padding to 8  blob: the arrays, each 8-aligned

The header names every array with its dtype, shape and byte offset in the blob, and carries the
tokens, both sets of colour ranges (each term's own and the shared one), the colour modes and
play speeds to offer, and the view (step, neuron, colour mode, speed, ``seq``).
``decode_payload`` reads it back (the tests check it against ``model.forward``; the browser
reads the same layout).

The payload is sent again only when its bytes change. Streamlit hashes every element it sends;
an element of 10 kB or more that the browser still holds (it lists their hashes with each rerun
request) goes out as a reference of a few dozen bytes instead. So ``ExplorerView.payload``
carries the view as the server last moved it, not as the browser reports it: a report's rerun
(a step, a neuron, a colour mode or a speed chosen in the browser) then rebuilds the same bytes,
and only the trace or a move by the server (a link, a new text) sends the trace again.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field

import numpy as np

from rnn import RNN, Encoded, Trace, Vocab, display_token

MAGIC = b"RNNX"
TOP_K = 10  # next-token guesses shown per step
COLOUR_MODES = {"own": "each term its own scale", "shared": "one scale for all terms"}
DEFAULT_COLOUR = "own"  # a shared range leaves the input grid nearly white (issue 10)
COLOUR_HELP = (
    "Each term its own scale: every grid uses its whole colour range (its 99th percentile of "
    "|value| over the text), so a small input term still shows. One scale for all terms: the "
    "four grids compare directly, and the smaller terms may look pale. h_t spans its "
    "activation's range: −1 … 1 for tanh, 0 … 1 for sigmoid, the text's own for ReLU and the "
    "identity.")
SPEEDS = (1.0, 2.5, 5.0, 10.0)  # tokens per second while playing
DEFAULT_SPEED = 2.5
TERMS = ("Wi_x", "Wh_h", "b_h", "a")  # the terms of a_t whose colour range is chosen; h_t is ±1
SCALE_Q = 99.0  # percentile of |value| that ends a colour range: outliers saturate
G_LABELS = {"tanh": "tanh", "relu": "ReLU", "sigmoid": "σ", "identity": ""}  # g(a) as shown


def colour_range(*arrays: np.ndarray, q: float = SCALE_Q) -> float:
    """A symmetric colour range: the q-th percentile of |value| over the arrays (1.0 if zero)."""
    vals = np.concatenate([np.abs(np.ravel(a)) for a in arrays])
    m = float(np.percentile(vals, q)) if vals.size else 0.0
    return m if m > 0 and np.isfinite(m) else 1.0


@dataclass
class StepTrace:
    """One forward pass of a model over a text, with everything the step view shows."""

    model_key: str
    model: RNN  # kept to notice a replaced model under the same key ("trained")
    vocab: Vocab
    text: str
    encoded: Encoded  # ids (T,), tokens and the unknown ones
    trace: Trace  # every intermediate, (T, H) and (T, V)
    blob: bytes = field(repr=False)  # the arrays, packed once (see the module docstring)
    meta: dict = field(repr=False)  # tokens, shapes, offsets, colour ranges: the header's rest

    @property
    def T(self) -> int:
        return len(self.encoded.ids)

    @property
    def H(self) -> int:
        return self.model.hidden_size

    def payload(self, step: int, neuron: int, colour: str, speed: float, seq: int) -> bytes:
        """The bytes the component receives: the packed trace and the view to show."""
        view = {"step": int(step), "neuron": int(neuron), "colour": colour,
                "speed": float(speed), "seq": int(seq)}
        head = json.dumps({**self.meta, "view": view}, ensure_ascii=False).encode()
        pad = -(8 + len(head)) % 8
        return MAGIC + struct.pack("<I", len(head) + pad) + head + b" " * pad + self.blob


def step_arrays(model: RNN, encoded: Encoded, trace: Trace) -> dict[str, np.ndarray]:
    """The arrays the browser draws from, by name: Trace arrays and model parameters only."""
    T = len(encoded.ids)
    probs = trace.probs  # (T, V)
    k = min(TOP_K, probs.shape[1])
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]  # (T, k) most likely first
    nxt = np.append(encoded.ids[1:], 0)  # (T,) the token that really follows (none at T-1)
    next_p = probs[np.arange(T), nxt]  # (T,)
    next_p[-1] = np.nan
    next_loss = np.append(trace.step_loss(encoded.ids[1:]), np.nan)  # (T,): -ln p, nats
    return {
        "Wi_x": trace.Wi_x, "Wh_h": trace.Wh_h, "a": trace.a, "h": trace.h,  # (T, H) each
        "h0": trace.h0, "b_h": model.b_h, "W_h": model.W_h,  # (H,), (H,), (H, H)
        "top_ids": top.astype(np.int32), "top_p": np.take_along_axis(probs, top, axis=1),
        "next_p": next_p, "next_loss": next_loss,
    }


def build_step_trace(
    model_key: str, model: RNN, vocab: Vocab, text: str, stops: list[list],
) -> StepTrace:
    """Run ``model.forward`` over ``text`` once and pack what the step view needs.

    ``stops`` is the diverging colour scale as [[position, "rgb(r,g,b)"], ...] (the app's one
    signed scale, ``figures.style.SIGNED_STOPS``), so the browser colours as the figures do.
    """
    encoded = vocab.encode_report(text)
    trace = model.forward(encoded.ids)
    arrays = step_arrays(model, encoded, trace)
    parts, index, offset = [], [], 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr, np.int32 if arr.dtype.kind in "iu" else np.float32)
        raw = arr.tobytes()
        index.append({"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape),
                      "offset": offset})
        parts.append(raw + b"\0" * (-len(raw) % 8))
        offset += len(parts[-1])
    blob = b"".join(parts)
    T = len(encoded.ids)
    scales = {name: colour_range(arrays[name]) for name in TERMS}  # "each term its own scale"
    scales["shared"] = colour_range(*(arrays[name] for name in TERMS))  # "one scale for all"
    mean = arrays["next_loss"][:-1]
    g = model.g
    lo, hi = g.h_range(trace.h)  # g's own bounds, or this text's range (ReLU, identity)
    meta = {
        "T": T, "H": model.hidden_size, "V": vocab.size, "unit": vocab.unit_name,
        "tokens": encoded.tokens, "shown": [display_token(t) for t in encoded.tokens],
        "ids": encoded.ids.tolist(), "vocab_shown": [display_token(t) for t in vocab.tokens],
        "unknown": [i for i, _ in encoded.unknown], "vocab": list(vocab.tokens),
        "arrays": index, "scales": scales, "stops": [[float(p), str(c)] for p, c in stops],
        "colour_modes": [[k, label] for k, label in COLOUR_MODES.items()],
        "colour_help": COLOUR_HELP, "speeds": list(SPEEDS),
        "g": {"name": g.name, "label": G_LABELS[g.name], "rest": g.rest, "lo": lo, "hi": hi,
              "z": max(hi - g.rest, g.rest - lo)},  # h_t coloured white at g(0), ends at z
        "mean_loss": float(mean.mean()) if T > 1 else None,
        "trace_id": hashlib.sha1(blob).hexdigest()[:16],
    }
    return StepTrace(model_key, model, vocab, text, encoded, trace, blob, meta)


def decode_payload(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the arrays of a payload, as the browser reads them."""
    if data[:4] != MAGIC:
        raise ValueError("not a step-view payload")
    (n,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8:8 + n].decode())
    blob = memoryview(data)[8 + n:]
    arrays = {}
    for item in header["arrays"]:
        dtype = np.dtype(item["dtype"]).newbyteorder("<")
        count = int(np.prod(item["shape"], dtype=np.int64))
        arrays[item["name"]] = np.frombuffer(blob, dtype, count, item["offset"]).reshape(
            item["shape"])
    return header, arrays


def colour_of(raw) -> str | None:
    """One of ``COLOUR_MODES`` ("own", "shared"), or None."""
    return raw if isinstance(raw, str) and raw in COLOUR_MODES else None


def speed_of(raw) -> float | None:
    """One of ``SPEEDS`` from a number or its text ("2.5", "10"), or None."""
    try:
        speed = float(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return speed if speed in SPEEDS else None


def speed_text(speed: float) -> str:
    """A speed as the URL writes it: "1", "2.5", "10"."""
    return f"{speed:g}"


@dataclass
class ExplorerView:
    """Where the step view stands: the step, the neuron, the colour mode and the play speed.

    The browser moves all four by itself and reports them when stepping pauses
    (``from_browser``). Anything else that moves them (a link, a new text, a test setting the
    session state) bumps ``seq``, which tells the browser to take the server's values.
    """

    step: int = 0
    neuron: int = 0
    colour: str = DEFAULT_COLOUR
    speed: float = DEFAULT_SPEED
    seq: int = 0  # bumped whenever the server, not the browser, moved the view
    shown: tuple[str, str] | None = None  # (model key, text) of the last trace shown
    moved_to: tuple = (0, 0, DEFAULT_COLOUR, DEFAULT_SPEED)  # the view as the server moved it

    def _now(self) -> tuple:
        return self.step, self.neuron, self.colour, self.speed

    def follow(self, step: int, neuron: int, colour: str, speed: float, T: int, H: int,
               shown: tuple[str, str]) -> None:
        """Take the server's values (clamped; an unknown colour mode or speed is the default);
        a new text starts at step 0."""
        if self.shown is not None and self.shown[1] != shown[1]:
            step = 0
        new = (min(max(int(step), 0), T - 1), min(max(int(neuron), 0), H - 1),
               colour_of(colour) or DEFAULT_COLOUR, speed_of(speed) or DEFAULT_SPEED)
        if new != self._now() or shown != self.shown:
            self.seq += 1
            self.moved_to = new
        self.step, self.neuron, self.colour, self.speed = new
        self.shown = shown

    def payload(self, run: StepTrace) -> bytes:
        """The bytes for the browser: ``run`` and the view as the server last moved it.

        The same bytes after any number of browser moves, so the rerun that follows a report
        sends a reference, not the trace (see the module docstring). The browser keeps its own
        view while ``seq`` stays the same.
        """
        return run.payload(*self.moved_to, self.seq)

    def from_browser(self, step, neuron, colour, speed, T: int, H: int) -> bool:
        """What the browser reports: the step and neuron (ignored unless two whole numbers),
        the colour mode and the speed (each ignored unless one offered); True if it moved."""
        before = self._now()
        try:
            self.step, self.neuron = (min(max(int(step), 0), T - 1),
                                      min(max(int(neuron), 0), H - 1))
        except (TypeError, ValueError):
            pass
        self.colour = colour_of(colour) or self.colour
        self.speed = speed_of(speed) or self.speed
        return self._now() != before
