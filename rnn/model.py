"""An Elman recurrent network over one-hot tokens, with its exact gradients.

Notation (the app's labels use the same symbols)::

    a_t = W_i x_t + W_h h_{t-1} + b_h      pre-activation          (H,)
    h_t = g(a_t)                           hidden state            (H,)
    y_t = W_o h_t + b_o                    logits                  (V,)
    p_t = softmax(y_t)                     next-token probabilities (V,)
    L   = -mean_t log p_t[target_t]        cross-entropy, nats per token

``x_t`` is the one-hot vector of token ``ids[t]``, so ``W_i x_t`` is column ``ids[t]`` of ``W_i``.

The activation ``g`` is applied element-wise; backprop through time needs its slope ``g'(a_t)``,
which for every choice here is a function of ``h_t = g(a_t)`` alone::

    g          h_t = g(a_t)            g'(a_t)                 range of h_t
    tanh       tanh(a_t)               1 - h_t^2               (-1, 1)      the usual choice
    relu       max(0, a_t)             1 if h_t > 0 else 0     [0, inf)
    sigmoid    1 / (1 + exp(-a_t))     h_t (1 - h_t)           (0, 1)
    identity   a_t                     1                       (-inf, inf)  a linear RNN

(ReLU's slope at a_t = 0 is taken as 0, as PyTorch does.) Backprop through one step is then
``dL/da_t = g'(a_t) * dL/dh_t`` and ``dL/dh_{t-1} += W_h^T dL/da_t``.

Vector convention: vectors are rows and arrays are shaped ``(B, T, H)`` (batch, time, feature);
a single sequence drops the leading ``B``. Inside, the loops run time-major ``(T, B, H)``,
so that the one step the recurrence forbids batching over time is a contiguous row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activation import Activation, activation
from .errors import RNNError
from .optim import flat_buffer
from .trace import Backward, Trace, softmax

PARAMS = ("W_i", "W_h", "b_h", "W_o", "b_o")
# |h_t| above this and a neuron is saturated: tanh'(a) = 1 - h^2 < 0.1, so a gradient passing
# back through it keeps less than a tenth (|a| > atanh(0.95) = 1.83 before the squashing)
SATURATED = 0.95
ONE_HOT_BYTES = 256 * 1024  # dW_i is a one-hot GEMM up to an (N, V) matrix this big (measured)


def _as_batch(ids, h0, H: int, V: int, dtype) -> tuple[np.ndarray, np.ndarray, bool]:
    """Check ids/h0 and return them as (B, T) and (B, H), with whether the input was 1-D."""
    ids = np.asarray(ids)
    if ids.ndim not in (1, 2) or ids.size == 0:
        raise RNNError(f"Token ids must be shaped (T,) or (B, T) with B, T >= 1, got {ids.shape}.")
    if ids.dtype.kind not in "iu":  # integer (np.issubdtype is slow on the hot path)
        raise RNNError("Token ids must be integers.")
    if ids.min() < 0 or ids.max() >= V:
        raise RNNError(f"Token ids must lie in 0..{V - 1} for a vocabulary of {V}.")
    single = ids.ndim == 1
    ids2 = ids[None] if single else ids
    B = ids2.shape[0]
    if h0 is None:
        h0b = np.zeros((B, H), dtype)
    else:
        h0 = np.asarray(h0, dtype)
        want = (H,) if single else (B, H)
        if h0.shape != want:
            raise RNNError(f"h0 must be shaped {want}, got {h0.shape}.")
        h0b = h0[None] if single else h0
    return ids2, h0b, single


@dataclass
class RNN:
    """The five parameter arrays of an Elman RNN (shapes beside each) and its activation g."""

    W_i: np.ndarray  # (H, V) input -> hidden
    W_h: np.ndarray  # (H, H) hidden -> hidden, the memory
    b_h: np.ndarray  # (H,)
    W_o: np.ndarray  # (V, H) hidden -> logits
    b_o: np.ndarray  # (V,)
    activation: str = "tanh"  # g in h_t = g(a_t): a name in ACTIVATIONS

    def __post_init__(self) -> None:
        activation(self.activation)  # a known name, or a plain error
        if np.ndim(self.W_i) != 2:
            raise RNNError(f"W_i must be a matrix shaped (H, V), got shape {np.shape(self.W_i)}.")
        H, V = np.shape(self.W_i)
        want = {"W_i": (H, V), "W_h": (H, H), "b_h": (H,), "W_o": (V, H), "b_o": (V,)}
        for name, shape in want.items():
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.shape != shape:
                got = getattr(arr, "shape", type(arr).__name__)
                raise RNNError(f"{name} must be an array shaped {shape}, got {got}.")

    @classmethod
    def create(
        cls, vocab_size: int, hidden_size: int, seed: int = 0, init_std: float = 0.01,
        dtype=np.float64, activation: str = "tanh",
    ) -> RNN:
        """A fresh model: weights drawn from N(0, init_std^2), biases zero (min-char-rnn's init)."""
        if vocab_size < 2 or hidden_size < 1:
            raise RNNError("A model needs a vocabulary of at least 2 and at least 1 hidden neuron.")
        if not np.isfinite(init_std) or init_std < 0:
            raise RNNError("The initial weight scale must be a finite number >= 0.")
        rng = np.random.default_rng(seed)
        H, V = hidden_size, vocab_size

        def draw(*shape):
            return (rng.standard_normal(shape) * init_std).astype(dtype)

        return cls(draw(H, V), draw(H, H), np.zeros(H, dtype), draw(V, H), np.zeros(V, dtype),
                   activation)

    @property
    def g(self) -> Activation:
        """The activation: g, its slope g' and the range of h."""
        return activation(self.activation)

    @property
    def hidden_size(self) -> int:
        return self.W_h.shape[0]

    @property
    def vocab_size(self) -> int:
        return self.W_i.shape[1]

    @property
    def dtype(self):
        return self.W_h.dtype

    def params(self) -> dict[str, np.ndarray]:
        """The parameter arrays by name (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in PARAMS}

    def copy(self, dtype=None) -> RNN:
        """A deep copy, optionally cast to another dtype."""
        return RNN(**{k: np.array(v, dtype=dtype or v.dtype) for k, v in self.params().items()},
                   activation=self.activation)

    def spectral_radius(self) -> float:
        """max |eigenvalue| of W_h: above 1, the linearised memory grows; below, it fades."""
        return float(np.max(np.abs(np.linalg.eigvals(self.W_h.astype(np.float64)))))

    # -- forward -----------------------------------------------------------------------------

    def _forward_tm(self, ids_tm: np.ndarray, h0b: np.ndarray, trace: bool = False):
        """Time-major forward over (T, B) ids.

        Returns ``h_all`` (T+1, B, H), whose row 0 is h0 and rows 1.. are h_t (so h_{t-1} for
        every t is the view ``h_all[:-1]``), and the logits as columns ``yT`` (V, T*B), column
        t*B + b holding y_t of sequence b (the softmax then reduces down columns, measured faster
        than along short rows of V), and the pre-activations a (T, B, H); with ``trace`` also
        Wi_x and Wh_h (T, B, H), the other intermediates a Trace records.
        """
        T, B = ids_tm.shape
        H = self.hidden_size
        W_iT = self.W_i.T if ids_tm.size < self.vocab_size else np.ascontiguousarray(self.W_i.T)
        a = W_iT[ids_tm]  # (T, B, H): W_i x_t is row ids[t] of W_i^T (a contiguous copy first
        # when many rows are gathered: measured faster for B=32, slower for B=1)
        Wi_x = a.copy() if trace else None
        a += self.b_h  # a_t = W_i x_t + b_h, the recurrence adds W_h h_{t-1} below
        Wh_h = np.empty_like(a) if trace else np.empty((1, B, H), self.dtype)  # (T or 1, B, H)
        Wh_rows = Wh_h if trace else [Wh_h[0]] * T  # where each step's W_h h_{t-1} goes
        h_all = np.empty((T + 1, B, H), self.dtype)
        h_all[0] = h0b
        W_hT = np.ascontiguousarray(self.W_h.T)  # (H, H); a contiguous copy multiplies faster
        g = self.g.fn
        # the one loop the recurrence forbids us to batch (zip over rows: fewer Python index ops)
        for a_t, Wh_t, h_prev, h_t in zip(a, Wh_rows, h_all[:-1], h_all[1:], strict=True):
            np.dot(h_prev, W_hT, out=Wh_t)  # W_h h_{t-1}          (B, H)
            a_t += Wh_t  # a_t = W_i x_t + b_h + W_h h_{t-1}
            g(a_t, out=h_t)  # h_t = g(a_t)
        yT = np.dot(self.W_o, h_all[1:].reshape(T * B, H).T)  # (V, T*B): y_t for all t at once
        yT += self.b_o[:, None]
        return (h_all, yT, a, Wi_x, Wh_h) if trace else (h_all, yT, a)

    def forward(self, ids, h0=None) -> Trace:
        """Run the network over token ids and record every intermediate.

        Parameters
        ----------
        ids : int array, shape (T,) or (B, T)
        h0 : array, shape (H,) or (B, H), optional
            State before the first token; zeros when None.

        Returns
        -------
        Trace
            ``Wi_x, Wh_h, a, h`` shaped (T, H) or (B, T, H); ``logits, probs`` (T, V) or (B, T, V).
        """
        ids2, h0b, single = _as_batch(ids, h0, self.hidden_size, self.vocab_size, self.dtype)
        h_all, yT, a, Wi_x, Wh_h = self._forward_tm(ids2.T, h0b, trace=True)
        h = h_all[1:]
        y = yT.T.reshape(h.shape[0], h.shape[1], -1)  # (T, B, V)
        p = softmax(y)
        arrays = [np.ascontiguousarray(x.swapaxes(0, 1)) for x in (Wi_x, Wh_h, a, h, y, p)]
        if single:
            return Trace(ids2[0], h0b[0], *(x[0] for x in arrays))
        return Trace(ids2, h0b, *arrays)

    def step(self, token_id: int, h_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step for sampling: returns h_t (H,) and p_t (V,)."""
        h_t = self.g.fn(self.W_i[:, token_id] + np.dot(self.W_h, h_prev) + self.b_h)
        return h_t, softmax(np.dot(self.W_o, h_t) + self.b_o)

    # -- loss and backward -------------------------------------------------------------------

    def loss(self, ids, targets, h0=None) -> float:
        """Mean cross-entropy (nats per token) of predicting ``targets`` from ``ids``."""
        ids2, h0b, _ = _as_batch(ids, h0, self.hidden_size, self.vocab_size, self.dtype)
        _, yT, _ = self._forward_tm(ids2.T, h0b)
        return _cross_entropy(yT, _targets_tm(targets, ids2, self.vocab_size))[0]

    def backward_full(self, ids, targets, h0=None) -> Backward:
        """Loss, parameter gradients and the per-step dL/dh_t, dL/da_t of the mean loss.

        Parameters
        ----------
        ids, targets : int arrays, shape (T,) or (B, T)
            Inputs and the tokens to predict at each step (usually ``ids`` shifted by one).
        h0 : array, shape (H,) or (B, H), optional

        Returns
        -------
        Backward
        """
        ids2, h0b, single = _as_batch(ids, h0, self.hidden_size, self.vocab_size, self.dtype)
        tg = _targets_tm(targets, ids2, self.vocab_size)
        h_all, yT, a = self._forward_tm(ids2.T, h0b)
        loss, dyT = _cross_entropy(yT, tg, want_grad=True)
        grads, dh, da, dh0 = self._backward_tm(ids2.T, h_all, dyT, work=a)
        dh, da = dh.swapaxes(0, 1), da.swapaxes(0, 1)
        if single:
            dh, da, dh0 = dh[0], da[0], dh0[0]
        return Backward(loss, grads, dh, da, dh0)

    def loss_and_grads(self, ids, targets, h0=None, grad_scale: float = 1.0):
        """Mean cross-entropy, its exact gradients and the final hidden state.

        Parameters
        ----------
        ids, targets : int arrays, shape (T,) or (B, T)
        h0 : array, shape (H,) or (B, H), optional
        grad_scale : float
            The gradients are those of ``grad_scale * L``. The Trainer passes T, which makes them
            the gradients of the loss summed over each window's T tokens and averaged over the B
            sequences: min-char-rnn's loss when B = 1 (``rnn/train.py`` says why).

        Returns
        -------
        loss : float
            Mean cross-entropy in nats over all predicted tokens.
        grads : dict of str to array
            ``W_i, W_h, b_h, W_o, b_o``, each shaped like its parameter (views of one buffer,
            laid out as ``optim.flat_buffer(self.params())``).
        h_last : array, shape (H,) or (B, H)
            The final hidden state, to carry into the next window (truncated BPTT).
        """
        ids2, h0b, single = _as_batch(ids, h0, self.hidden_size, self.vocab_size, self.dtype)
        tg = _targets_tm(targets, ids2, self.vocab_size)
        loss, grads, h_last = self._loss_and_grads_tm(ids2.T, tg, h0b, grad_scale=grad_scale)
        h_last = h_last.copy()
        return loss, grads, (h_last[0] if single else h_last)

    def _loss_and_grads_tm(self, ids_tm, tg_tm, h0b, out=None, grad_scale: float = 1.0):
        """``loss_and_grads`` on checked time-major (T, B) ids and targets, without the checks.

        Returns the loss, the gradients (written into ``out``, a dict of arrays shaped like the
        parameters, when given) and h_T (B, H), a view into the forward's states.
        """
        h_all, yT, a = self._forward_tm(ids_tm, h0b)
        loss, dyT = _cross_entropy(yT, tg_tm, want_grad=True, grad_scale=grad_scale)
        grads = self._backward_tm(ids_tm, h_all, dyT, out, work=a)[0]
        return loss, grads, h_all[-1]

    def _backward_tm(self, ids_tm, h_all, dyT, out=None, work=None):
        """Backprop through time over time-major arrays.

        ``h_all`` (T+1, B, H) is h0 followed by every h_t, ``dyT`` (V, T*B) is dL/dy_t. The
        gradients go into ``out`` (arrays shaped like the parameters) when given, dL/da_t into
        ``work`` (T, B, H) when given: the forward's a_t, no longer needed (reusing memory
        already touched is measurably faster than a fresh array).
        """
        T, B, H = h_all.shape[0] - 1, h_all.shape[1], h_all.shape[2]
        V, N = dyT.shape
        g = out if out is not None else flat_buffer(self.params(), zero=False)[1]  # one buffer
        h_flat = h_all[1:].reshape(N, H)  # h_t        (N, H)
        h_prev = h_all[:-1].reshape(N, H)  # h_{t-1}   (N, H)
        np.dot(dyT, h_flat, out=g["W_o"])  # (V, H) = sum_t dy_t h_t^T
        np.sum(dyT, axis=1, out=g["b_o"])  # (V,)
        dh = np.dot(dyT.T, self.W_o).reshape(T, B, H)  # dL/dh_t through y_t, all t at once
        da = work if work is not None else np.empty_like(dh)  # (T, B, H)
        self.g.slope(h_all[1:], out=da)  # g'(a_t) from h_t, times dL/dh_t in the loop below
        W_h = self.W_h
        dh_next = np.zeros((B, H), dh.dtype)  # dL/dh_t arriving from step t+1
        for k, (da_t, dh_t) in enumerate(zip(da[::-1], dh[::-1], strict=True)):  # t = T-1 down to 0
            if k:  # nothing arrives from beyond the window
                dh_t += dh_next  # dL/dh_t = W_o^T dy_t + W_h^T da_{t+1}
            np.multiply(da_t, dh_t, out=da_t)  # dL/da_t = g'(a_t) * dL/dh_t
            np.dot(da_t, W_h, out=dh_next)  # W_h^T da_t, flows into h_{t-1}
        da_flat = da.reshape(N, H)
        np.dot(da_flat.T, h_prev, out=g["W_h"])  # (H, H) = sum_t da_t h_{t-1}^T
        np.sum(da_flat, axis=0, out=g["b_h"])  # (H,)
        ids_flat = ids_tm.reshape(N)
        if N * V * dh.itemsize <= ONE_HOT_BYTES:  # small: one GEMM with the one-hot x_t
            x = np.zeros((N, V), dh.dtype)
            x[np.arange(N), ids_flat] = 1.0  # one-hot x_t  (N, V)
            np.dot(da_flat.T, x, out=g["W_i"])  # (H, V) = sum_t da_t x_t^T
        else:  # large: add up da_t per token id, never forming the (N, V) one-hot matrix
            _sum_rows_by_id(da_flat, ids_flat, g["W_i"].T)  # (V, H) view of dW_i
        return g, dh, da, dh_next


def _sum_rows_by_id(rows: np.ndarray, ids: np.ndarray, out: np.ndarray) -> None:
    """out[v] = sum of rows[n] over the n with ids[n] == v (zero for absent v).

    This is sum_t da_t x_t^T for one-hot x_t without the (N, V) one-hot matrix: sort the ids,
    then add up each run of equal ids with one reduceat. Cost grows with N, not with N * V.
    """
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    out[...] = 0.0
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)


def _targets_tm(targets, ids2: np.ndarray, V: int) -> np.ndarray:
    """Targets as a time-major (T, B) int array, checked against the inputs' shape."""
    tg = np.asarray(targets)
    tg2 = tg[None] if tg.ndim == 1 else tg
    if tg2.shape != ids2.shape:
        raise RNNError(f"targets must be shaped like the ids {ids2.shape}, got {tg.shape}.")
    if tg2.dtype.kind not in "iu" or tg2.min() < 0 or tg2.max() >= V:
        raise RNNError(f"targets must be integer token ids in 0..{V - 1}.")
    return tg2.T


def _cross_entropy(yT: np.ndarray, tg: np.ndarray, want_grad: bool = False,
                   grad_scale: float = 1.0):
    """Mean cross-entropy of logits yT (V, N), column t*B + b, against targets (T, B), and
    d(grad_scale L)/dy in the same (V, N) layout if asked. Overwrites ``yT`` (with exp(y - max),
    then the gradient)."""
    V, N = yT.shape
    pick = (tg.reshape(N), np.arange(N))  # (target, column) of each prediction
    y_max = yT.max(axis=0)  # (N,)
    y_t = yT[pick]  # (N,) logit of each target
    e = np.exp(np.subtract(yT, y_max, out=yT), out=yT)  # (V, N), in place
    Z = e.sum(axis=0)  # (N,)
    loss = float(np.sum(np.log(Z) + y_max - y_t)) / N  # -log p_t[target] = log Z - y_target
    if not want_grad:
        return loss, None
    e /= Z  # p_t
    e[pick] -= 1.0  # dL/dy_t = (p_t - onehot(target_t)) / N
    if N != grad_scale:  # (N / grad_scale is B for the Trainer's grad_scale = T: exact)
        e /= N / grad_scale
    return loss, e
