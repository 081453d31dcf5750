"""What one forward pass records (Trace), what backprop through time returns (Backward), and
the two functions every loss figure goes through: a stable softmax and -ln p."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

P_FLOOR = float(np.finfo(np.float64).tiny)  # -ln p is taken of max(p, P_FLOOR): p = 0 costs 708


@dataclass
class Trace:
    """Every intermediate of one forward pass, shaped (T, .) or (B, T, .)."""

    ids: np.ndarray  # (T,) or (B, T) input token ids
    h0: np.ndarray  # (H,) or (B, H) state before step 0
    Wi_x: np.ndarray  # W_i x_t, the input's contribution         (B, T, H)
    Wh_h: np.ndarray  # W_h h_{t-1}, the memory's contribution    (B, T, H)
    a: np.ndarray  # pre-activation a_t                          (B, T, H)
    h: np.ndarray  # hidden state h_t                            (B, T, H)
    logits: np.ndarray  # y_t                                    (B, T, V)
    probs: np.ndarray  # p_t = softmax(y_t)                      (B, T, V)

    @property
    def h_prev(self) -> np.ndarray:
        """h_{t-1} for every t: ``h0`` followed by all but the last hidden state."""
        return np.concatenate([self.h0[..., None, :], self.h[..., :-1, :]], axis=-2)

    @property
    def h_last(self) -> np.ndarray:
        """The final hidden state, to carry into the next window."""
        return self.h[..., -1, :]

    def step_loss(self, targets) -> np.ndarray:
        """-ln p_t[target_t] of each step, nats, shaped like ``targets`` (T',) or (B, T').

        ``targets`` may be shorter than the trace (T' <= T): the text's next tokens stop one
        step before its end.
        """
        tg = np.asarray(targets, dtype=np.int64)
        p = np.take_along_axis(self.probs[..., : tg.shape[-1], :], tg[..., None], axis=-1)
        return neg_log(p[..., 0])


@dataclass
class Backward:
    """Gradients of the mean loss, and the per-step signals backprop through time passes along."""

    loss: float  # mean cross-entropy in nats per predicted token
    grads: dict[str, np.ndarray]  # dL/dW_i ... dL/db_o, shaped like the parameters
    dh: np.ndarray  # dL/dh_t (from y_t and from h_{t+1})   (B, T, H) or (T, H)
    da: np.ndarray  # dL/da_t = g'(a_t) * dL/dh_t              (B, T, H) or (T, H)
    dh0: np.ndarray  # dL/dh_{-1}, the gradient reaching the initial state  (B, H) or (H,)


def neg_log(p):
    """-ln p in nats, p floored at P_FLOOR (a probability that underflowed to 0 stays finite)."""
    return -np.log(np.maximum(p, P_FLOOR))


def softmax(y: np.ndarray) -> np.ndarray:
    """Stable softmax over the last axis (subtracts the max before exp)."""
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e
