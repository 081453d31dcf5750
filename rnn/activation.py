"""The activation g of ``h_t = g(a_t)`` (see ``rnn.model``): each choice with its slope g' written
in terms of h_t, its range, and how the app writes it.

Both ``fn`` and ``slope`` work element-wise and write into ``out`` when given, so the model's
recurrence and backward pass call them without allocating.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import RNNError


def _tanh_slope(h, out=None):
    out = np.multiply(h, h, out=out)  # h^2
    return np.subtract(1.0, out, out=out)  # tanh'(a) = 1 - h^2


def _relu(a, out=None):
    return np.maximum(a, 0.0, out=out)  # max(0, a)


def _relu_slope(h, out=None):
    if out is None:
        return (h > 0).astype(np.result_type(h, np.float32))
    return np.greater(h, 0.0, out=out)  # relu'(a) = 1 where a > 0, i.e. where h > 0


def _sigmoid(a, out=None):
    out = np.multiply(a, 0.5, out=out)  # 1 / (1 + e^-a) = (1 + tanh(a/2)) / 2: never overflows
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _sigmoid_slope(h, out=None):
    out = np.subtract(1.0, h, out=out)  # 1 - h
    out *= h  # sigmoid'(a) = h (1 - h)
    return out


def _identity_slope(h, out=None):
    if out is None:
        return np.ones_like(h)
    out[...] = 1.0  # identity'(a) = 1
    return out


@dataclass(frozen=True)
class Activation:
    """One choice of g in h_t = g(a_t): the function, its slope written in h, and its range."""

    name: str
    fn: Callable  # h = g(a), element-wise; fn(a, out=None)
    slope: Callable  # g'(a) computed from h = g(a); slope(h, out=None)
    formula: str  # g(a) as a learner reads it
    slope_formula: str  # g'(a) in terms of h
    low: float | None  # the range of h: None where unbounded (ReLU above, identity both ways)
    high: float | None
    latex: str  # g(a_t) in LaTeX, for the equations a page shows
    slope_latex: str  # g'(a_t) in terms of h_t, in LaTeX

    @property
    def rest(self) -> float:
        """g(0), the state of a unit whose input is zero: 0, or 0.5 for sigmoid."""
        return float(self.fn(np.zeros(1))[0])

    def h_range(self, h: np.ndarray) -> tuple[float, float]:
        """The range to colour h_t over: g's own bounds where it has them (-1..1 for tanh, 0..1
        for sigmoid), else the data's (ReLU: 0..max h; identity: min h..max h), always including
        ``rest`` and never empty."""
        h = np.asarray(h, dtype=np.float64)
        finite = h[np.isfinite(h)]
        lo = self.low if self.low is not None else min(float(finite.min(initial=0.0)), self.rest)
        hi = self.high if self.high is not None else max(float(finite.max(initial=0.0)),
                                                         self.rest)
        if hi <= lo:
            hi = lo + 1.0
        return lo, hi


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, _tanh_slope, "tanh(a)", "1 − h²", -1.0, 1.0,
                       r"\tanh(a_t)", r"1 - h_t^2"),
    "relu": Activation("relu", _relu, _relu_slope, "max(0, a)", "1 if h > 0 else 0", 0.0, None,
                       r"\max(0,\, a_t)", r"\mathbf{1}[h_t > 0]"),
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_slope, "1 / (1 + e^−a)", "h (1 − h)",
                          0.0, 1.0, r"\sigma(a_t) = \frac{1}{1 + e^{-a_t}}", r"h_t\,(1 - h_t)"),
    "identity": Activation("identity", np.positive, _identity_slope, "a", "1", None, None,
                           r"a_t", r"1"),
}


def activation(name: str) -> Activation:
    """The activation called ``name``, or an RNNError listing the choices."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise RNNError(
            f"Unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}."
        ) from None
